#!/bin/bash
# Runs an MPI test binary the way users run MPI programs, bounded in time so that a
# hung MPI job fails the test instead of hanging CI:
#   mpi_test.sh BINARY RANKS [MPIRUN_ARGS...]
# RANKS 0 runs BINARY alone (its executors spawn their workers); otherwise under
# `mpirun --oversubscribe -np RANKS` (world mode).
set -euo pipefail
binary=$1
ranks=$2
shift 2

# OpenMPI under AddressSanitizer: its own allocations that it never frees are not
# pyconc's leaks (see lsan_suppressions.txt).
suppressions="${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/multiprocessing/mpi/lsan_suppressions.txt"
export LSAN_OPTIONS="suppressions=${suppressions}${LSAN_OPTIONS:+:${LSAN_OPTIONS}}"

# The whole job gets 4 minutes (the test's own timeout is longer), then is killed.
# OpenMPI keeps its session (Unix sockets among them) under TMPDIR; the test's own is
# too deep for a socket path.
export TMPDIR=/tmp

if [[ "${ranks}" == 0 ]]; then
  exec timeout --kill-after=10 240 "${binary}"
fi
command -v mpirun > /dev/null || {
  echo "mpi_test.sh: mpirun not found (tools/bazel installs openmpi-bin)" >&2
  exit 1
}
exec timeout --kill-after=10 240 mpirun --oversubscribe -np "${ranks}" "$@" "${binary}"
