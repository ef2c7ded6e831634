// Process pools: 20,000 tiny tasks (x*x) on 2 worker processes, each with its
// own future, all results collected; and the same batch through Map() with
// Python's Pool.map default chunking. One benchmark iteration is one task, so
// the table shows ns per task.
#include <cstdint>
#include <vector>

#include "benchmark/benchmark.h"
#include "multiprocessing/pool/executor.h"

namespace {

constexpr int kTasks = 20'000;
constexpr int kWorkers = 2;
// Python's Pool.map default: ceil(len / (4 * workers)).
constexpr int kChunksize = (kTasks + 4 * kWorkers - 1) / (4 * kWorkers);

int64_t Square(int64_t x) { return x * x; }

void PyconcSubmit(benchmark::State& state) {
  pyconc::futures::ProcessPoolExecutor pool({.max_workers = kWorkers});
  std::vector<pyconc::futures::Future<int64_t>> futures;
  futures.reserve(kTasks);
  int64_t sum = 0;
  int64_t i = 0;
  for (auto _ : state) {
    futures.push_back(*pool.Submit(&Square, i));
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
    ->Name("process pool 20k x*x, 2 workers, Submit/pyconc")
    ->Iterations(kTasks)
    ->UseRealTime();

void PyconcMap(benchmark::State& state) {
  pyconc::futures::ProcessPoolExecutor pool({.max_workers = kWorkers});
  std::vector<int64_t> inputs;
  for (int64_t x = 0; x < kTasks; ++x) inputs.push_back(x);
  int64_t sum = 0;
  int64_t i = 0;
  for (auto _ : state) {
    // The whole batch runs in the last iteration, so the time per iteration
    // is the time per task.
    if (++i < kTasks) continue;
    for (absl::StatusOr<int64_t> r :
         pool.Map(&Square, inputs, {.chunksize = kChunksize})) {
      sum += *r;
    }
    i = 0;
  }
  benchmark::DoNotOptimize(sum);
}
BENCHMARK(PyconcMap)
    ->Name("process pool 20k x*x, 2 workers, Map/pyconc")
    ->Iterations(kTasks)
    ->UseRealTime();

}  // namespace
