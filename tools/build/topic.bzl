"""The targets of a tutorial topic's package.

    topic(name = "thread", srcs = [...], hdrs = [...], deps = [...],
          tool_srcs = ["tool.cc"], tool_deps = [...])

makes `//threading/thread` the library, what another workspace depends on alone
(`deps = ["@pyconc//threading/thread"]`), and `//threading/thread:tool` its tool
(`tools/bazel run //threading/thread:tool -- --help`), which links gflags and the
command-line helpers the library never needs.

A topic whose piece lives elsewhere (daemon threads are a flag of Thread) has only a
tool, named after its package: `topic_tool(name = "daemon", srcs = ["tool.cc"], ...)`.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library")

# What every tool links: the command-line conventions (tools/cli) and gflags.
_TOOL_DEPS = [
    "//tools/cli",
    "@com_github_gflags_gflags//:gflags",
]

# Who runs tools besides users: their tests, the tour and the bench (which serves
# Python's HTTP rows with the stock scraper's quote server).
_TOOL_VISIBILITY = [
    "//tests:__subpackages__",
    "//tools/bench:__pkg__",
    "//tools/tour:__pkg__",
]

def topic_tool(name, srcs, deps = [], visibility = _TOOL_VISIBILITY):
    """A topic's command-line tool, `tools/bazel run //<package>[:<name>]`."""
    cc_binary(
        name = name,
        srcs = srcs,
        deps = deps + [d for d in _TOOL_DEPS if d not in deps],
        visibility = visibility,
    )

def topic(name, srcs, hdrs, deps, tool_srcs, tool_deps = [], **kwargs):
    """The library `name` (public) and its tool `:tool`."""
    cc_library(
        name = name,
        srcs = srcs,
        hdrs = hdrs,
        deps = deps,
        visibility = ["//visibility:public"],
        **kwargs
    )
    topic_tool(
        name = "tool",
        srcs = tool_srcs,
        deps = [":" + name] + tool_deps,
    )
