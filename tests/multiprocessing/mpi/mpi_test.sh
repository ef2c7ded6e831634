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
# pyconc's leaks (see lsan_suppressions.txt). For the suppressions to see where a leak
# was allocated, OpenMPI keeps its plugins loaded (it unloads them in MPI_Finalize,
# before LeakSanitizer reads the stacks) and the stacks are unwound in full (Debian's
# libraries have no frame pointers).
suppressions="${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/multiprocessing/mpi/lsan_suppressions.txt"
export LSAN_OPTIONS="suppressions=${suppressions}:fast_unwind_on_malloc=0${LSAN_OPTIONS:+:${LSAN_OPTIONS}}"
export OMPI_MCA_mca_base_component_disable_dlclose=1

source "$(dirname "$0")/mpi_session.sh"

# The whole job gets 4 minutes (the test's own timeout is longer), then is killed.
if [[ "${ranks}" == 0 ]]; then
  timeout --kill-after=10 240 "${binary}"
  exit
fi
command -v mpirun > /dev/null || {
  echo "mpi_test.sh: mpirun not found (tools/bazel installs openmpi-bin)" >&2
  exit 1
}
timeout --kill-after=10 240 mpirun --oversubscribe -np "${ranks}" "$@" "${binary}"
