"""A repository assembled from files kept in this workspace (shims and BUILD files)."""

def _local_package_repository_impl(ctx):
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    for label, dest in ctx.attr.files.items():
        ctx.symlink(label, dest)

local_package_repository = repository_rule(
    implementation = _local_package_repository_impl,
    attrs = {
        "files": attr.label_keyed_string_dict(
            doc = "Each file of this workspace and its path inside the repository.",
            allow_files = True,
            mandatory = True,
        ),
    },
    doc = "Creates a repository from BUILD files and shims kept under tools/workspace/.",
)
