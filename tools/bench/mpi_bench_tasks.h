// The tasks of mpi_bench.cc, registered in the bench and in the program its
// spawned workers run (mpi_bench_worker.cc), which link this file alike.
#ifndef PYCONC_TOOLS_BENCH_MPI_BENCH_TASKS_H_
#define PYCONC_TOOLS_BENCH_MPI_BENCH_TASKS_H_

#include <cstdint>
#include <string>

#include "multiprocessing/mpi/executor.h"

namespace pyconc::bench {

// x * x: a tiny call, to count calls per second.
extern const futures::MpiTask<int64_t(int64_t)> kSquare;
// Its argument back: a round trip of the bytes.
extern const futures::MpiTask<std::string(std::string)> kEcho;

}  // namespace pyconc::bench

#endif  // PYCONC_TOOLS_BENCH_MPI_BENCH_TASKS_H_
