// asyncio: the event loop's cost per task, per timer and per await, on pyconc
// and on Boost.Asio's C++20 coroutines (co_spawn / awaitable). The Python
// peers (asyncio, uvloop) are in python/asyncio_bench.py, the hand-written
// floor in asyncio_floor_bench.cc.
//
// Each benchmark runs batches (KeepRunningBatch), so its time is per task, per
// timer or per await; every batch starts with the heap trimmed
// (StartColdBatch). The timer workload reports overhead only: the batch's
// wall time minus the longest sleep (100 ms), per timer.
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "asyncio/future.h"
#include "asyncio/gather.h"
#include "asyncio/run.h"
#include "asyncio/sleep.h"
#include "asyncio/task.h"
#include "asyncio/timeouts.h"
#include "benchmark/benchmark.h"
#include "boost/asio/awaitable.hpp"
#include "boost/asio/co_spawn.hpp"
#include "boost/asio/detached.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "tools/bench/asyncio_workloads.h"

namespace {

namespace aio = pyconc::asyncio;
namespace asio = boost::asio;

using ::pyconc::bench::Check;
using ::pyconc::bench::kAwait;
using ::pyconc::bench::kAwaits;
using ::pyconc::bench::kMemory;
using ::pyconc::bench::kTasks;
using ::pyconc::bench::kYield;
using ::pyconc::bench::ReportBytes;
using ::pyconc::bench::ResidentBytes;
using ::pyconc::bench::StartColdBatch;
using ::pyconc::bench::SumBelow;

constexpr char kTimers[] = "asyncio: timer overhead, 1M sleeps of 0-100 ms";
constexpr char kGather[] = "asyncio: gather of 1M tasks with one sleep(0)";
constexpr char kWaitFor[] =
    "asyncio: wait_for around an immediately-completing coroutine";
constexpr int kWaitFors = 1'000'000;

// The sleeps of the timer workload: 0-100 ms, the same for every peer.
const std::vector<int>& SleepMicros() {
  static const std::vector<int>* const micros = [] {
    auto* v = new std::vector<int>(kTasks);
    std::mt19937 random(2024);
    std::uniform_int_distribution<int> pick(0, 100'000);
    for (int& m : *v) m = pick(random);
    (*v)[0] = 100'000;  // The longest sleep is exactly 100 ms.
    return v;
  }();
  return *micros;
}

// Counts finished tasks; the last one completes the future main waits on.
struct Collector {
  int64_t sum = 0;
  int done = 0;
};

// ---------------------------------------------------------------- pyconc

aio::Coroutine<int> YieldOnce(int i, Collector* c, aio::Future<void>* all) {
  co_await aio::Sleep(absl::ZeroDuration());
  c->sum += i;
  if (++c->done == kTasks) all->SetResult();
  co_return i;
}

aio::Coroutine<int> SleepFor(int i, int micros, Collector* c,
                             aio::Future<void>* all) {
  co_await aio::Sleep(absl::Microseconds(micros));
  c->sum += i;
  if (++c->done == kTasks) all->SetResult();
  co_return i;
}

template <bool kTimer>
aio::Coroutine<int64_t> SpawnAll() {
  Collector collector;
  aio::Future<void> all;
  const std::vector<int>& micros = SleepMicros();
  for (int i = 0; i < kTasks; ++i) {
    if constexpr (kTimer) {
      aio::CreateTask(SleepFor(i, micros[i], &collector, &all));
    } else {
      aio::CreateTask(YieldOnce(i, &collector, &all));
    }
  }
  co_await all;
  co_return collector.sum;
}

void PyconcYield(benchmark::State& state) {
  while (state.KeepRunningBatch(kTasks)) {
    StartColdBatch(state);
    Check(state, aio::Run(SpawnAll<false>()), SumBelow(kTasks));
  }
}
BENCHMARK(PyconcYield)->Name(std::string(kYield) + "/pyconc")->UseRealTime();

void PyconcTimers(benchmark::State& state) {
  SleepMicros();
  while (state.KeepRunningBatch(kTasks)) {
    StartColdBatch(state);
    const absl::Time start = absl::Now();
    Check(state, aio::Run(SpawnAll<true>()), SumBelow(kTasks));
    state.SetIterationTime(
        absl::ToDoubleSeconds(absl::Now() - start - absl::Milliseconds(100)));
  }
}
BENCHMARK(PyconcTimers)
    ->Name(std::string(kTimers) + "/pyconc")
    ->UseManualTime();

aio::Coroutine<int> Trivial(int i) { co_return i; }

aio::Coroutine<int64_t> AwaitMany(int n) {
  int64_t sum = 0;
  for (int i = 0; i < n; ++i) sum += co_await Trivial(i);
  co_return sum;
}

void PyconcAwait(benchmark::State& state) {
  while (state.KeepRunningBatch(kAwaits)) {
    StartColdBatch(state);
    Check(state, aio::Run(AwaitMany(kAwaits)), SumBelow(kAwaits));
  }
}
BENCHMARK(PyconcAwait)->Name(std::string(kAwait) + "/pyconc")->UseRealTime();

aio::Coroutine<int> YieldValue(int i) {
  co_await aio::Sleep(absl::ZeroDuration());
  co_return i;
}

aio::Coroutine<int64_t> GatherAll() {
  std::vector<aio::Task<int>> tasks;
  tasks.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i)
    tasks.push_back(aio::CreateTask(YieldValue(i)));
  std::vector<int> values = co_await aio::Gather(std::move(tasks));
  int64_t sum = 0;
  for (int v : values) sum += v;
  co_return sum;
}

void PyconcGather(benchmark::State& state) {
  while (state.KeepRunningBatch(kTasks)) {
    StartColdBatch(state);
    Check(state, aio::Run(GatherAll()), SumBelow(kTasks));
  }
}
BENCHMARK(PyconcGather)->Name(std::string(kGather) + "/pyconc")->UseRealTime();

aio::Coroutine<int64_t> WaitForMany(int n) {
  int64_t sum = 0;
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<int> r =
        co_await aio::WaitFor(Trivial(i), absl::Seconds(10));
    sum += *r;
  }
  co_return sum;
}

void PyconcWaitFor(benchmark::State& state) {
  while (state.KeepRunningBatch(kWaitFors)) {
    StartColdBatch(state);
    Check(state, aio::Run(WaitForMany(kWaitFors)), SumBelow(kWaitFors));
  }
}
BENCHMARK(PyconcWaitFor)
    ->Name(std::string(kWaitFor) + "/pyconc")
    ->UseRealTime();

aio::Coroutine<void> SleepAnHour() { co_await aio::Sleep(absl::Hours(1)); }

// The resident memory that kTasks tasks asleep in Sleep() add, then cancels
// them.
aio::Coroutine<int64_t> MeasureSleepers() {
  std::vector<aio::Task<void>> tasks;
  tasks.reserve(kTasks);
  const int64_t before = ResidentBytes();
  for (int i = 0; i < kTasks; ++i)
    tasks.push_back(aio::CreateTask(SleepAnHour()));
  co_await aio::Sleep(absl::ZeroDuration());  // Every task is now asleep.
  const int64_t after = ResidentBytes();
  for (aio::Task<void>& task : tasks) task.Cancel();
  co_await aio::Sleep(absl::ZeroDuration());
  co_return after - before;
}

void PyconcMemory(benchmark::State& state) {
  while (state.KeepRunningBatch(kTasks)) {
    StartColdBatch(state);
    ReportBytes(state, aio::Run(MeasureSleepers()));
  }
}
BENCHMARK(PyconcMemory)
    ->Name(std::string(kMemory) + "/pyconc")
    ->UseManualTime()
    ->Iterations(kTasks);

// ---------------------------------------------------------------- Boost.Asio

asio::awaitable<int> AsioYieldOnce(int i) {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  co_return i;
}

asio::awaitable<int> AsioSleepFor(int i, int micros) {
  asio::steady_timer timer(co_await asio::this_coro::executor,
                           std::chrono::microseconds(micros));
  co_await timer.async_wait(asio::use_awaitable);
  co_return i;
}

template <bool kTimer>
int64_t AsioSpawnAll() {
  asio::io_context context(1);
  Collector collector;
  const std::vector<int>& micros = SleepMicros();
  auto collect = [&collector](std::exception_ptr, int i) {
    collector.sum += i;
    ++collector.done;
  };
  for (int i = 0; i < kTasks; ++i) {
    if constexpr (kTimer) {
      asio::co_spawn(context, AsioSleepFor(i, micros[i]), collect);
    } else {
      asio::co_spawn(context, AsioYieldOnce(i), collect);
    }
  }
  context.run();
  return collector.sum;
}

void AsioYield(benchmark::State& state) {
  while (state.KeepRunningBatch(kTasks)) {
    StartColdBatch(state);
    Check(state, AsioSpawnAll<false>(), SumBelow(kTasks));
  }
}
BENCHMARK(AsioYield)->Name(std::string(kYield) + "/Boost.Asio")->UseRealTime();

void AsioTimers(benchmark::State& state) {
  SleepMicros();
  while (state.KeepRunningBatch(kTasks)) {
    StartColdBatch(state);
    const absl::Time start = absl::Now();
    Check(state, AsioSpawnAll<true>(), SumBelow(kTasks));
    state.SetIterationTime(
        absl::ToDoubleSeconds(absl::Now() - start - absl::Milliseconds(100)));
  }
}
BENCHMARK(AsioTimers)
    ->Name(std::string(kTimers) + "/Boost.Asio")
    ->UseManualTime();

asio::awaitable<int> AsioTrivial(int i) { co_return i; }

void AsioAwait(benchmark::State& state) {
  while (state.KeepRunningBatch(kAwaits)) {
    StartColdBatch(state);
    asio::io_context context(1);
    int64_t sum = 0;
    asio::co_spawn(
        context,
        [&sum]() -> asio::awaitable<void> {
          for (int i = 0; i < kAwaits; ++i) sum += co_await AsioTrivial(i);
        },
        asio::detached);
    context.run();
    Check(state, sum, SumBelow(kAwaits));
  }
}
BENCHMARK(AsioAwait)->Name(std::string(kAwait) + "/Boost.Asio")->UseRealTime();

asio::awaitable<void> AsioSleepAnHour() {
  asio::steady_timer timer(co_await asio::this_coro::executor,
                           std::chrono::hours(1));
  co_await timer.async_wait(asio::use_awaitable);
}

void AsioMemory(benchmark::State& state) {
  while (state.KeepRunningBatch(kTasks)) {
    StartColdBatch(state);
    auto context = std::make_unique<asio::io_context>(1);
    const int64_t before = ResidentBytes();
    for (int i = 0; i < kTasks; ++i) {
      asio::co_spawn(*context, AsioSleepAnHour(), asio::detached);
    }
    context->poll();  // Every coroutine is now waiting on its timer.
    ReportBytes(state, ResidentBytes() - before);
    context.reset();  // Destroys the waiting coroutines.
  }
}
BENCHMARK(AsioMemory)
    ->Name(std::string(kMemory) + "/Boost.Asio")
    ->UseManualTime()
    ->Iterations(kTasks);

}  // namespace
