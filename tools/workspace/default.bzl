"""The external repositories pyconc builds against, for this and dependent workspaces.

A workspace that depends on pyconc calls the same macro after declaring @pyconc:

    local_repository(name = "pyconc", path = "/path/to/pyconc")
    load("@pyconc//tools/workspace:default.bzl", "add_default_repositories")
    add_default_repositories()

Everything comes from Debian's packages, under the names upstream projects use, so
switching to downloaded archives later changes this file alone.
"""

load(":debian_source.bzl", "debian_source_repository")
load(":local_package.bzl", "local_package_repository")

def _maybe(rule, name, **kwargs):
    if name not in native.existing_rules():
        rule(name = name, **kwargs)

def add_default_repositories():
    """Declares every external repository pyconc needs (skipping those already set)."""

    # Bazel's own rule sets, as Debian installs them (bazel-platforms, bazel-rules-java,
    # bazel-skylib).
    _maybe(native.local_repository, "platforms", path = "/usr/share/bazel/tools/platforms")
    _maybe(native.local_repository, "rules_java", path = "/usr/share/bazel/rules/java")
    _maybe(native.local_repository, "bazel_skylib", path = "/usr/share/bazel/tools/skylib")

    # Shims Bazel 4.2.3 needs offline: cc rules re-exported for `load`, and the coverage
    # tools that every cc_test names implicitly.
    _maybe(
        local_package_repository,
        "rules_cc",
        files = {
            Label("//tools/workspace/rules_cc:package.BUILD.bazel"): "BUILD.bazel",
            Label("//tools/workspace/rules_cc:cc.BUILD.bazel"): "cc/BUILD.bazel",
            Label("//tools/workspace/rules_cc:defs.bzl"): "cc/defs.bzl",
        },
    )
    _maybe(
        local_package_repository,
        "remote_coverage_tools",
        files = {
            Label("//tools/workspace/remote_coverage_tools:package.BUILD.bazel"): "BUILD.bazel",
            Label("//tools/workspace/remote_coverage_tools:unsupported.sh"): "unsupported.sh",
        },
    )

    # Abseil, compiled from Debian's source package in every configuration, so that
    # ThreadSanitizer sees inside absl::Mutex and one Abseil serves every build.
    _maybe(debian_source_repository, "com_google_absl", package = "abseil")

    # GoogleTest and GoogleMock from the sources Debian ships in /usr/src/googletest
    # (compiled with our flags, so instrumented under the sanitizers).
    _maybe(
        native.new_local_repository,
        "com_google_googletest",
        path = "/usr/src/googletest",
        build_file = str(Label("//tools/workspace/googletest:package.BUILD.bazel")),
    )

    # Libraries linked from Debian's binary packages.
    _maybe(
        local_package_repository,
        "com_github_gflags_gflags",
        files = {Label("//tools/workspace/gflags:package.BUILD.bazel"): "BUILD.bazel"},
    )
    _maybe(
        local_package_repository,
        "com_github_google_benchmark",
        files = {Label("//tools/workspace/benchmark:package.BUILD.bazel"): "BUILD.bazel"},
    )
    _maybe(
        local_package_repository,
        "com_github_uscilab_cereal",
        files = {Label("//tools/workspace/cereal:package.BUILD.bazel"): "BUILD.bazel"},
    )
    _maybe(
        local_package_repository,
        "com_github_nothings_stb",
        files = {Label("//tools/workspace/stb:package.BUILD.bazel"): "BUILD.bazel"},
    )

    # Benchmark peers, never linked into pyconc's libraries.
    _maybe(
        local_package_repository,
        "boost",
        files = {Label("//tools/workspace/boost:package.BUILD.bazel"): "BUILD.bazel"},
    )
    _maybe(
        local_package_repository,
        "com_github_oneapi_src_onetbb",
        files = {Label("//tools/workspace/tbb:package.BUILD.bazel"): "BUILD.bazel"},
    )
