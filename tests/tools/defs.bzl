"""tool_test: a test that runs one of pyconc's tools as a user would (see run_tool.h)."""

load("@rules_cc//cc:defs.bzl", "cc_test")

def tool_test(name, tool, srcs = None, deps = []):
    """A cc_test `name` (source `name`.cc unless `srcs`) that may RunTool() `tool`."""
    cc_test(
        name = name,
        size = "small",
        srcs = srcs or [name + ".cc"],
        data = [tool],
        deps = deps + [
            "//tests/tools:run_tool",
            "//base:tsan_suppressions",
            "@com_google_googletest//:gtest_main",
        ],
    )
