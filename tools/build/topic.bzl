"""The targets of a tutorial topic's package.

    topic(name = "thread", srcs = [...], hdrs = [...], deps = [...],
          tool_srcs = ["tool.cc"], tool_deps = [...])

makes `//threading/thread` usable both ways:
    deps = ["@pyconc//threading/thread"]        # the library (its CcInfo)
    bazel run //threading/thread -- --help      # the tool

A topic whose piece lives elsewhere (daemon threads are a flag of Thread) has only a
tool: `topic_tool(name = "daemon", srcs = ["tool.cc"], deps = [...])`.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library")

def _library_and_tool_impl(ctx):
    executable = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.symlink(
        output = executable,
        target_file = ctx.executable.tool,
        is_executable = True,
    )
    runfiles = ctx.runfiles(files = [executable])
    runfiles = runfiles.merge(ctx.attr.tool[DefaultInfo].default_runfiles)
    return [
        DefaultInfo(executable = executable, runfiles = runfiles),
        ctx.attr.library[CcInfo],
    ]

_library_and_tool = rule(
    implementation = _library_and_tool_impl,
    attrs = {
        "library": attr.label(providers = [CcInfo]),
        "tool": attr.label(executable = True, cfg = "target"),
    },
    executable = True,
)

# What every tool links: the command-line conventions (tools/cli) and gflags.
_TOOL_DEPS = [
    "//tools/cli",
    "@com_github_gflags_gflags//:gflags",
]

# Who runs tools besides users: their tests and the tour.
_TOOL_VISIBILITY = [
    "//tests:__subpackages__",
    "//tools/tour:__pkg__",
]

def topic_tool(name, srcs, deps = [], visibility = _TOOL_VISIBILITY):
    """A topic's command-line tool, `bazel run //<package>`."""
    cc_binary(
        name = name,
        srcs = srcs,
        deps = deps + [d for d in _TOOL_DEPS if d not in deps],
        visibility = visibility,
    )

def topic(name, srcs, hdrs, deps, tool_srcs, tool_deps = [], **kwargs):
    """The library `name`_library, the tool `name`_tool, and `name` standing for both."""
    cc_library(
        name = name + "_library",
        srcs = srcs,
        hdrs = hdrs,
        deps = deps,
        visibility = ["//visibility:public"],
        **kwargs
    )
    topic_tool(
        name = name + "_tool",
        srcs = tool_srcs,
        deps = [name + "_library"] + tool_deps,
        visibility = ["//visibility:private"],
    )
    _library_and_tool(
        name = name,
        library = name + "_library",
        tool = name + "_tool",
        visibility = ["//visibility:public"],
    )
