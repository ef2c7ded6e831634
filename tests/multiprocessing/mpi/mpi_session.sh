# Sourced by the MPI test scripts: a private OpenMPI session for this test.
#
# OpenMPI names its session folder (Unix sockets among them) and its shared-memory
# segments after the pid of mpirun. In Bazel's sandbox (a pid namespace) two tests'
# mpiruns may share a pid, and /dev/shm is shared, so each test gets its own folder for
# both, short enough for a socket path (the test's TEST_TMPDIR is too deep).
TMPDIR=$(mktemp -d /tmp/pyconc-mpi.XXXXXX)
export TMPDIR
trap 'rm -rf "${TMPDIR}"' EXIT
export OMPI_MCA_btl_vader_backing_directory="${TMPDIR}"
