// asyncio's primitives: a contended Lock, a Queue handing items from a
// producer task to a consumer task, and a Semaphore, each a round trip per
// iteration. The Python peers (asyncio, uvloop) are in
// python/asyncio_prims_bench.py and run the same workloads with the same N.
//
// Contention is real: every task holds the Lock or the Semaphore's unit
// across a Sleep(0) (asyncio.sleep(0)), so the others queue up and each
// release wakes a waiter. The Queue holds one item, so every item is a
// hand-off between the two tasks. Each batch checks its result (no lost
// update, every item once, never more than K inside). Workload names have no
// '/': the suite splits "<workload>/<implementation>" there.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "asyncio/locks.h"
#include "asyncio/queues.h"
#include "asyncio/run.h"
#include "asyncio/sleep.h"
#include "asyncio/task.h"
#include "benchmark/benchmark.h"

namespace {

namespace aio = pyconc::asyncio;

constexpr char kLock[] = "asyncio: Lock round trip, 4 tasks contending";
constexpr char kQueue[] =
    "asyncio: Queue(maxsize=1) put and get, producer to consumer";
constexpr char kSemaphore[] =
    "asyncio: Semaphore(2) round trip, 4 tasks contending";
constexpr int kRounds = 100'000;  // Per batch, on every row.
constexpr int kTasks = 4;
constexpr int kUnits = 2;

aio::Coroutine<void> LockRounds(aio::Lock* lock, int rounds, int64_t* counter) {
  for (int i = 0; i < rounds; ++i) {
    auto held = co_await aio::Hold(*lock);
    const int64_t seen = *counter;
    co_await aio::Sleep(absl::ZeroDuration());
    *counter = seen + 1;  // Lost if another task got in meanwhile.
  }
}

aio::Coroutine<int64_t> ContendLock() {
  aio::Lock lock;
  int64_t counter = 0;
  std::vector<aio::Task<void>> tasks;
  for (int t = 0; t < kTasks; ++t) {
    tasks.push_back(
        aio::CreateTask(LockRounds(&lock, kRounds / kTasks, &counter)));
  }
  for (aio::Task<void>& task : tasks) co_await task;
  co_return counter;
}

void PyconcLock(benchmark::State& state) {
  while (state.KeepRunningBatch(kRounds)) {
    if (aio::Run(ContendLock()) != kRounds) {
      state.SkipWithError("the Lock let two tasks in");
    }
  }
}
BENCHMARK(PyconcLock)->Name(std::string(kLock) + "/pyconc")->UseRealTime();

aio::Coroutine<void> Produce(aio::Queue<int>* queue) {
  for (int i = 0; i < kRounds; ++i) {
    const absl::Status status = co_await queue->Put(i);
    if (!status.ok()) co_return;  // The consumer's sum then tells.
  }
}

aio::Coroutine<int64_t> Consume(aio::Queue<int>* queue) {
  int64_t sum = 0;
  for (int i = 0; i < kRounds; ++i) {
    absl::StatusOr<int> item = co_await queue->Get();
    sum += *item;
  }
  co_return sum;
}

aio::Coroutine<int64_t> HandOff() {
  aio::Queue<int> queue(1);
  aio::Task<int64_t> consumer = aio::CreateTask(Consume(&queue));
  co_await Produce(&queue);
  co_return co_await consumer;
}

void PyconcQueue(benchmark::State& state) {
  constexpr int64_t kSum = int64_t{kRounds} * (kRounds - 1) / 2;
  while (state.KeepRunningBatch(kRounds)) {
    if (aio::Run(HandOff()) != kSum) {
      state.SkipWithError("items lost or repeated");
    }
  }
}
BENCHMARK(PyconcQueue)->Name(std::string(kQueue) + "/pyconc")->UseRealTime();

struct Inside {
  int now = 0;
  int most = 0;
  int64_t rounds = 0;
};

aio::Coroutine<void> SemaphoreRounds(aio::Semaphore* sem, int rounds,
                                     Inside* inside) {
  for (int i = 0; i < rounds; ++i) {
    auto held = co_await aio::Hold(*sem);
    inside->most = std::max(inside->most, ++inside->now);
    co_await aio::Sleep(absl::ZeroDuration());
    --inside->now;
    ++inside->rounds;
  }
}

aio::Coroutine<Inside> ContendSemaphore() {
  aio::Semaphore sem(kUnits);
  Inside inside;
  std::vector<aio::Task<void>> tasks;
  for (int t = 0; t < kTasks; ++t) {
    tasks.push_back(
        aio::CreateTask(SemaphoreRounds(&sem, kRounds / kTasks, &inside)));
  }
  for (aio::Task<void>& task : tasks) co_await task;
  co_return inside;
}

void PyconcSemaphore(benchmark::State& state) {
  while (state.KeepRunningBatch(kRounds)) {
    const Inside inside = aio::Run(ContendSemaphore());
    if (inside.rounds != kRounds || inside.most != kUnits) {
      state.SkipWithError("the Semaphore let the wrong number in");
    }
  }
}
BENCHMARK(PyconcSemaphore)
    ->Name(std::string(kSemaphore) + "/pyconc")
    ->UseRealTime();

}  // namespace
