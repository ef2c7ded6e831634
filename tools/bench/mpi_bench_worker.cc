// What the MPI bench's spawned workers run: they serve in MpiInit() and exit
// there. Started any other way, it says what it is for.
#include <cstdio>

#include "multiprocessing/mpi/executor.h"

int main(int argc, char** argv) {
  pyconc::futures::MpiInit(&argc, &argv);
  std::fprintf(stderr,
               "mpi_bench_worker: the workers of //tools/bench's MPI rows; "
               "started by the bench, not by hand\n");
  return 2;
}
