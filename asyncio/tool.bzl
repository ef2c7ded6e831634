"""The tool of an asyncio tutorial page: a cc_binary named after its package."""

load("@rules_cc//cc:defs.bzl", "cc_binary")

def asyncio_tool(name, srcs = ["tool.cc"], deps = []):
    """`bazel run //asyncio/<name>`: a tool on the shared //asyncio library, in the tour.

    `deps` adds what the tool includes beyond //asyncio, //tools/cli, gflags and
    absl's str_format and time.
    """
    cc_binary(
        name = name,
        srcs = srcs,
        visibility = [
            "//tests:__subpackages__",
            "//tools/tour:__pkg__",
        ],
        deps = deps + [
            "//asyncio",
            "//tools/cli",
            "@com_github_gflags_gflags//:gflags",
            "@com_google_absl//absl/strings:str_format",
            "@com_google_absl//absl/time",
        ],
    )
