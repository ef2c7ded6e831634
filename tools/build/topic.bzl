"""A tutorial topic's package target: a library to depend on that is also a tool to run.

    topic(name = "thread", srcs = [...], hdrs = [...], deps = [...],
          tool_srcs = ["tool.cc"], tool_deps = [...])

makes `//threading/thread` usable both ways:
    deps = ["@pyconc//threading/thread"]        # the library (its CcInfo)
    bazel run //threading/thread -- --help      # the tool
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

def topic(name, srcs, hdrs, deps, tool_srcs, tool_deps, **kwargs):
    """The library `name`_library, the tool `name`_tool, and `name` standing for both."""
    cc_library(
        name = name + "_library",
        srcs = srcs,
        hdrs = hdrs,
        deps = deps,
        visibility = ["//visibility:public"],
        **kwargs
    )
    cc_binary(
        name = name + "_tool",
        srcs = tool_srcs,
        deps = [name + "_library"] + tool_deps,
    )
    _library_and_tool(
        name = name,
        library = name + "_library",
        tool = name + "_tool",
        visibility = ["//visibility:public"],
    )
