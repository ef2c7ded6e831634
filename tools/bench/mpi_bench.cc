// MPI pools, started as mpi4py.futures starts from a script run alone: 2
// spawned workers. 20,000 tiny tasks (x*x), each with its own future, all
// results collected (ns per task); and a 64 MiB string sent to a worker and
// back (time per round trip). The Python peer is python/mpi_bench.py.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "multiprocessing/mpi/executor.h"
#include "tools/bench/mpi_bench_tasks.h"

namespace {

constexpr int kTasks = 20'000;
constexpr int kWorkers = 2;

// The workers' program: beside the bench in its runfiles, or under the
// current directory (where `bazel run` starts).
std::string WorkerPath() {
  const std::filesystem::path relative = "tools/bench/mpi_bench_worker";
  if (std::filesystem::exists(relative)) {
    return std::filesystem::absolute(relative).string();
  }
  return std::filesystem::read_symlink("/proc/self/exe").string() +
         ".runfiles/pyconc/" + relative.string();
}

// MPI for this process, on first use (the bench's main is shared by every
// row). As root, OpenMPI runs only when told it may: the bench tells it for
// itself and for the Python peer it starts, not in the user's shell.
pyconc::futures::MpiPoolExecutor MakePool() {
  static const bool initialized = [] {
    if (::geteuid() == 0) {
      ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", /*overwrite=*/0);
      ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", /*overwrite=*/0);
    }
    pyconc::futures::MpiInit(nullptr, nullptr);
    return true;
  }();
  (void)initialized;
  return pyconc::futures::MpiPoolExecutor(
      {.max_workers = kWorkers, .command = WorkerPath()});
}

// One call answered: the workers are up, as the Python peer makes sure too.
bool WorkersUp(pyconc::futures::MpiPoolExecutor& pool) {
  absl::StatusOr<pyconc::futures::Future<int64_t>> f =
      pool.Submit(pyconc::bench::kSquare, 0);
  return f.ok() && f->Result() == 0;
}

void PyconcSubmit(benchmark::State& state) {
  pyconc::futures::MpiPoolExecutor pool = MakePool();
  if (!WorkersUp(pool)) {
    state.SkipWithError("cannot start the MPI workers");
    return;
  }
  std::vector<pyconc::futures::Future<int64_t>> futures;
  futures.reserve(kTasks);
  int64_t sum = 0;
  int64_t i = 0;
  for (auto _ : state) {
    futures.push_back(*pool.Submit(pyconc::bench::kSquare, i));
    if (++i == kTasks) {
      for (auto& f : futures) sum += f.Result();
      futures.clear();
      i = 0;
    }
  }
  for (auto& f : futures) sum += f.Result();
  benchmark::DoNotOptimize(sum);
}
BENCHMARK(PyconcSubmit)
    ->Name("mpi pool 20k x*x, 2 spawned workers, Submit/pyconc")
    ->Iterations(kTasks)
    ->UseRealTime();

void PyconcRoundTrip(benchmark::State& state) {
  pyconc::futures::MpiPoolExecutor pool = MakePool();
  if (!WorkersUp(pool)) {
    state.SkipWithError("cannot start the MPI workers");
    return;
  }
  const std::string bytes(size_t{64} << 20, 'x');
  for (auto _ : state) {
    absl::StatusOr<pyconc::futures::Future<std::string>> f =
        pool.Submit(pyconc::bench::kEcho, bytes);
    if (!f.ok() || f->Result().size() != bytes.size()) {
      state.SkipWithError("the round trip failed");
      return;
    }
  }
}
BENCHMARK(PyconcRoundTrip)
    ->Name("mpi pool 64 MiB round trip, 2 spawned workers/pyconc")
    ->Iterations(5)
    ->UseRealTime();

}  // namespace
