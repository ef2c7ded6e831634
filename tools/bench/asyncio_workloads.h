// The asyncio workloads that asyncio_bench.cc (pyconc, Boost.Asio) and
// asyncio_floor_bench.cc (the hand-written floor) both run: their names, their
// sizes, and how a memory workload reports bytes.
#ifndef PYCONC_TOOLS_BENCH_ASYNCIO_WORKLOADS_H_
#define PYCONC_TOOLS_BENCH_ASYNCIO_WORKLOADS_H_

#include <malloc.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>

#include "benchmark/benchmark.h"

namespace pyconc::bench {

inline constexpr char kYield[] = "asyncio: task with one sleep(0), 1M tasks";
inline constexpr char kAwait[] = "asyncio: await a trivial coroutine";
inline constexpr char kMemory[] =
    "asyncio: memory per sleeping task, 1M sleeping (bytes)";
inline constexpr int kTasks = 1'000'000;
inline constexpr int kAwaits = 10'000'000;

// The sum of 0 .. n - 1: what a workload whose calls return 0 .. n - 1 adds
// up to.
constexpr int64_t SumBelow(int64_t n) { return n * (n - 1) / 2; }

// Fails the row when a batch's answer is not `want`.
inline void Check(benchmark::State& state, int64_t got, int64_t want) {
  if (got != want) state.SkipWithError("wrong result");
}

// Hands the heap's free memory back to the OS before a batch, outside the
// timing, so that every batch of every C++ row starts as a fresh process's
// first does and pays for the memory it touches. Left to itself, whether
// glibc trims its heap between batches depends on where the process's last
// small allocations happened to land: one pyconc binary measured 110 ns and
// 190 ns per task on this row with only its --benchmark_filter spelled
// differently (with trimming off, 113 ns both ways).
inline void StartColdBatch(benchmark::State& state) {
  state.PauseTiming();
  ::malloc_trim(0);
  state.ResumeTiming();
}

// The process's resident memory, in bytes (/proc/self/statm).
inline int64_t ResidentBytes() {
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (statm != nullptr) {
    if (std::fscanf(statm, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(statm);
  }
  return int64_t{resident} * ::sysconf(_SC_PAGESIZE);
}

// Reports `bytes` for the whole batch of kTasks as the batch's manual time, so
// the table's "time per iteration" reads as bytes per task.
inline void ReportBytes(benchmark::State& state, int64_t bytes) {
  state.SetIterationTime(static_cast<double>(bytes) * 1e-9);
}

}  // namespace pyconc::bench

#endif  // PYCONC_TOOLS_BENCH_ASYNCIO_WORKLOADS_H_
