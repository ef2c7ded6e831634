"""The rules every pyconc BUILD file uses: cc rules that carry pyconc's warnings.

    load("//tools/build:pyconc.bzl", "pyconc_library", "pyconc_test", "topic")

pyconc_library, pyconc_binary and pyconc_test are cc_library, cc_binary and cc_test
with pyconc's warning flags; pyconc_test also links the ThreadSanitizer suppressions.
pyconc_tool is a tutorial topic's command-line tool, and topic a topic's library with
its tool.

The warnings are errors only when pyconc is built as its own workspace: its .bazelrc
sets `--define=pyconc_warnings=1` (and `--config=clang` adds
`--define=pyconc_thread_safety=1` for clang's -Wthread-safety). A workspace that
depends on @pyconc builds it with its own compiler and flags, and no new compiler
warning can break its build.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library", "cc_test")

# g++ 12 warns on designated initializers that leave fields at their defaults, which
# is how pyconc passes options, hence -Wno-missing-field-initializers.
_WARNINGS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-missing-field-initializers",
]

def _copts(copts):
    return copts + select({
        str(Label("//base:warnings")): _WARNINGS,
        "//conditions:default": [],
    }) + select({
        str(Label("//base:thread_safety")): ["-Wthread-safety"],
        "//conditions:default": [],
    })

def _with(deps, extra):
    """`deps` and what of `extra` it lacks (a select() gets all of `extra`)."""
    if type(deps) != "list":
        return deps + extra
    return deps + [d for d in extra if d not in deps]

def pyconc_library(name, copts = [], **kwargs):
    """A cc_library of pyconc's: its sources compile with pyconc's warnings."""
    cc_library(name = name, copts = _copts(copts), **kwargs)

def pyconc_binary(name, copts = [], **kwargs):
    """A cc_binary of pyconc's that is no topic's tool (the tour, test helpers)."""
    cc_binary(name = name, copts = _copts(copts), **kwargs)

def pyconc_test(name, copts = [], deps = [], **kwargs):
    """A cc_test of pyconc's; it runs clean under ThreadSanitizer with no extra dep."""
    cc_test(
        name = name,
        copts = _copts(copts),
        deps = _with(deps, ["//base:tsan_suppressions"]),
        **kwargs
    )

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

def pyconc_tool(name, srcs = ["tool.cc"], deps = [], visibility = _TOOL_VISIBILITY):
    """A topic's command-line tool, `tools/bazel run //<package>[:<name>]`.

    A topic whose piece lives elsewhere (daemon threads are a flag of Thread; each
    asyncio page uses the one //asyncio library) has only a tool, named after its
    package: `pyconc_tool(name = "daemon", deps = ["//threading/thread", ...])`.
    """
    pyconc_binary(
        name = name,
        srcs = srcs,
        deps = _with(deps, _TOOL_DEPS),
        visibility = visibility,
    )

def topic(name, srcs, hdrs, deps, tool_srcs, tool_deps = [], **kwargs):
    """The targets of a tutorial topic's package: the library `name` and `:tool`.

        topic(name = "thread", srcs = [...], hdrs = [...], deps = [...],
              tool_srcs = ["tool.cc"], tool_deps = [...])

    makes `//threading/thread` the library, what another workspace depends on alone
    (`deps = ["@pyconc//threading/thread"]`), and `//threading/thread:tool` its tool
    (`tools/bazel run //threading/thread:tool -- --help`), which links gflags and the
    command-line helpers the library never needs.
    """
    pyconc_library(
        name = name,
        srcs = srcs,
        hdrs = hdrs,
        deps = deps,
        visibility = ["//visibility:public"],
        **kwargs
    )
    pyconc_tool(
        name = "tool",
        srcs = tool_srcs,
        deps = [":" + name] + tool_deps,
    )
