// For crash_test.sh: a worker rank that dies while running a task. OpenMPI
// has no fault tolerance, so the whole job ends; rank 0 never sees a result.
#include <signal.h>

#include <cstdio>

#include "multiprocessing/mpi/executor.h"

namespace {

int Die(int) {
  ::raise(SIGKILL);
  return 0;
}

const auto kDie = pyconc::futures::RegisterMpiTask("die", &Die);

}  // namespace

int main(int argc, char** argv) {
  pyconc::futures::MpiInit(&argc, &argv);
  pyconc::futures::MpiPoolExecutor pool;
  std::printf("rank 0: submitting a call that kills its worker\n");
  std::fflush(stdout);
  try {
    pool.Submit(kDie, 0)->Result();
  } catch (const std::exception& e) {
    std::printf("rank 0: unexpected exception: %s\n", e.what());
    return 0;
  }
  std::printf("rank 0: unexpected result\n");
  return 0;
}
