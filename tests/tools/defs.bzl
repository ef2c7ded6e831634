"""tool_test: a test that runs one of pyconc's tools as a user would (see run_tool.h)."""

load("//tools/build:pyconc.bzl", "pyconc_test")

def tool_test(name, tool, srcs = None, deps = []):
    """A pyconc_test `name` (source `name`.cc unless `srcs`) that may RunTool() `tool`."""
    pyconc_test(
        name = name,
        size = "small",
        srcs = srcs or [name + ".cc"],
        data = [tool],
        deps = deps + [
            "//tests/tools:run_tool",
            "@com_google_googletest//:gtest_main",
        ],
    )
