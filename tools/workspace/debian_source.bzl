"""A repository unpacked from a Debian source package (apt-get source)."""

def _debian_source_repository_impl(ctx):
    script = ctx.path(Label("//tools/workspace:fetch_debian_source.sh"))
    result = ctx.execute(
        ["bash", str(script), ctx.attr.package, str(ctx.path("."))],
        timeout = 900,
        quiet = False,
    )
    if result.return_code != 0:
        fail("could not unpack Debian's source package '%s' (exit %d)" %
             (ctx.attr.package, result.return_code))

debian_source_repository = repository_rule(
    implementation = _debian_source_repository_impl,
    attrs = {
        "package": attr.string(mandatory = True, doc = "The Debian source package name."),
    },
    environ = ["HOME", "XDG_CACHE_HOME"],
    doc = "Unpacks the upstream tarball of a Debian source package, with Debian's " +
          "security patches applied; the tarball must carry its own BUILD files.",
)
