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
load("//tools/workspace/openmpi:repository.bzl", "openmpi_repository")

def _maybe(rule, name, **kwargs):
    if name not in native.existing_rules():
        rule(name = name, **kwargs)

def _installed_package(name, build_dir):
    """A Debian binary package, described by tools/workspace/<build_dir>/package.BUILD.bazel."""
    _maybe(
        local_package_repository,
        name,
        files = {Label("//tools/workspace/%s:package.BUILD.bazel" % build_dir): "BUILD.bazel"},
    )

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
    _installed_package("com_github_gflags_gflags", "gflags")
    _installed_package("com_github_google_benchmark", "benchmark")

    # For the stock-price scraper (//threading/stocks): an HTTP client, an HTML parser
    # with XPath, and the HTTP server behind its embedded quote server.
    _installed_package("com_github_curl_curl", "curl")
    _maybe(
        native.new_local_repository,
        "org_gnome_libxml2",
        path = "/usr/include/libxml2",
        build_file = str(Label("//tools/workspace/libxml2:package.BUILD.bazel")),
    )
    _installed_package("com_github_yhirose_cpp_httplib", "cpp_httplib")

    # Serialization across processes (multiprocessing), and images for its pool's tool.
    _installed_package("com_github_uscilab_cereal", "cereal")
    _installed_package("com_github_nothings_stb", "stb")

    # JSON, for the timelines tools write (//base:trace_json).
    _installed_package("com_github_nlohmann_json", "nlohmann_json")

    # MPI for the pool that spans hosts (//multiprocessing/mpi); tools/bazel installs
    # OpenMPI only when a command builds an MPI target.
    _maybe(
        openmpi_repository,
        "org_open_mpi",
        build_file = Label("//tools/workspace/openmpi:package.BUILD.bazel"),
    )

    # Benchmark peers, never linked into pyconc's libraries.
    _installed_package("boost", "boost")
    _installed_package("com_github_oneapi_src_onetbb", "onetbb")
    _installed_package("com_github_cameron314_concurrentqueue", "concurrentqueue")
