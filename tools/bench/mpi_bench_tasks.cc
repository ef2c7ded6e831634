#include "tools/bench/mpi_bench_tasks.h"

namespace pyconc::bench {
namespace {

int64_t Square(int64_t x) { return x * x; }
std::string Echo(std::string bytes) { return bytes; }

}  // namespace

const futures::MpiTask<int64_t(int64_t)> kSquare =
    futures::RegisterMpiTask("bench_square", &Square);
const futures::MpiTask<std::string(std::string)> kEcho =
    futures::RegisterMpiTask("bench_echo", &Echo);

}  // namespace pyconc::bench
