"""OpenMPI from Debian's libopenmpi-dev, as the repository @org_open_mpi.

Debian keeps mpi.h under the multiarch folder chosen by update-alternatives
(/usr/include/<triplet>/mpi); the rule asks the compiler wrapper where that is, so the
BUILD file stays the same on every architecture.
"""

def _openmpi_repository_impl(ctx):
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.symlink(ctx.attr.build_file, "BUILD.bazel")
    found = ctx.execute(["mpicc", "--showme:incdirs"])
    if found.return_code != 0:
        fail("OpenMPI is not installed (mpicc not found); run the build through " +
             "tools/bazel, which installs libopenmpi-dev for MPI targets")

    # The first folder is the one that holds mpi.h.
    ctx.symlink(found.stdout.strip().split(" ")[0], "include")

openmpi_repository = repository_rule(
    implementation = _openmpi_repository_impl,
    attrs = {"build_file": attr.label(allow_single_file = True, mandatory = True)},
    environ = ["PATH"],
    doc = "OpenMPI's headers and libmpi from the Debian packages installed here.",
)
