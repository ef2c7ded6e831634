#!/bin/bash
# A worker rank that dies takes the MPI job down (OpenMPI as Debian builds it has no
# fault tolerance): mpirun kills every rank, says which one died, and fails; the job
# ends promptly rather than hanging. This is what the README tells users they will see.
set -uo pipefail
binary=$1

source "$(dirname "$0")/mpi_session.sh"

started=${SECONDS}
output=$(timeout --kill-after=10 120 mpirun --oversubscribe -np 3 "${binary}" 2>&1)
status=$?
echo "${output}"
# mpirun's status is the dead rank's signal (137 for SIGKILL); a hang is the timeout.
if (( SECONDS - started >= 120 )); then
  echo "crash_test.sh: FAIL: the job hung after a worker died (killed by timeout)" >&2
  exit 1
fi
if [[ ${status} == 0 ]]; then
  echo "crash_test.sh: FAIL: the job succeeded after a worker died" >&2
  exit 1
fi
if ! grep -q "mpirun noticed that process rank [12] .* exited on signal 9" <<< "${output}"; then
  echo "crash_test.sh: FAIL: mpirun did not say which rank died" >&2
  exit 1
fi
if grep -q "unexpected" <<< "${output}"; then
  echo "crash_test.sh: FAIL: rank 0 went on after its worker died" >&2
  exit 1
fi
echo "crash_test.sh: the job ended with status ${status}, naming the dead rank"
