// The floor of the asyncio workloads: what bare C++20 coroutines cost with the
// least machinery a loop needs, written by hand for these workloads alone. A
// task is a coroutine whose frame frees itself when it ends; the loop is a
// list of ready coroutines run in batches, as asyncio's loop runs its ready
// handles; a sleeping task is a (deadline, coroutine) entry in a list of
// timers. No task objects, results, cancellation, exceptions or frame reuse:
// the floor is what pyconc's Python semantics are measured against ("pyconc vs
// this" reads "1.3x slower" as "1.3x the floor"), not a peer anyone would use.
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "tools/bench/asyncio_workloads.h"

namespace pyconc::bench {
namespace {

// The coroutines ready to run, in the order they became ready.
class FloorLoop {
 public:
  void Ready(std::coroutine_handle<> coroutine) { ready_.push_back(coroutine); }

  // Runs batches of ready coroutines until none is left.
  void Run() {
    while (!ready_.empty()) {
      running_.swap(ready_);
      for (std::coroutine_handle<> coroutine : running_) coroutine.resume();
      running_.clear();
    }
  }

 private:
  std::vector<std::coroutine_handle<>> ready_;
  std::vector<std::coroutine_handle<>> running_;
};

FloorLoop* loop = nullptr;

// Suspends the coroutine and puts it at the end of the ready list: a task's
// start, and sleep(0).
struct YieldToLoop {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> coroutine) const {
    loop->Ready(coroutine);
  }
  void await_resume() const noexcept {}
};

// A task: starts at the loop's next batch, frees its frame when it ends.
struct FloorTask {
  struct promise_type {
    FloorTask get_return_object() noexcept { return {}; }
    YieldToLoop initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };
};

FloorTask YieldOnce(int i, int64_t* sum) {
  co_await YieldToLoop{};
  *sum += i;
}

void FloorYield(benchmark::State& state) {
  while (state.KeepRunningBatch(kTasks)) {
    StartColdBatch(state);
    FloorLoop batch;
    loop = &batch;
    int64_t sum = 0;
    for (int i = 0; i < kTasks; ++i) YieldOnce(i, &sum);
    batch.Run();
    Check(state, sum, SumBelow(kTasks));
  }
}
BENCHMARK(FloorYield)
    ->Name(std::string(kYield) + "/floor: bare coroutines")
    ->UseRealTime();

// A coroutine that another awaits: starts when awaited, hands its value and
// the thread back to its awaiter when it ends (symmetric transfer), and is
// freed by the awaiter.
class Awaited {
 public:
  struct promise_type {
    int value = 0;
    std::coroutine_handle<> awaiter;
    Awaited get_return_object() noexcept {
      return Awaited(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    auto final_suspend() const noexcept {
      struct ToAwaiter {
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(
            std::coroutine_handle<promise_type> self) const noexcept {
          return self.promise().awaiter;
        }
        void await_resume() const noexcept {}
      };
      return ToAwaiter{};
    }
    void return_value(int v) noexcept { value = v; }
    void unhandled_exception() const noexcept { std::terminate(); }
  };

  Awaited(Awaited&& other) noexcept
      : coroutine_(std::exchange(other.coroutine_, nullptr)) {}
  ~Awaited() {
    if (coroutine_) coroutine_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) {
    coroutine_.promise().awaiter = awaiter;
    return coroutine_;
  }
  int await_resume() const noexcept { return coroutine_.promise().value; }

 private:
  explicit Awaited(std::coroutine_handle<promise_type> coroutine)
      : coroutine_(coroutine) {}
  std::coroutine_handle<promise_type> coroutine_;
};

Awaited Trivial(int i) { co_return i; }

FloorTask AwaitMany(int64_t* sum) {
  co_await YieldToLoop{};
  for (int i = 0; i < kAwaits; ++i) *sum += co_await Trivial(i);
}

void FloorAwait(benchmark::State& state) {
  while (state.KeepRunningBatch(kAwaits)) {
    StartColdBatch(state);
    FloorLoop batch;
    loop = &batch;
    int64_t sum = 0;
    AwaitMany(&sum);
    batch.Run();
    Check(state, sum, SumBelow(kAwaits));
  }
}
BENCHMARK(FloorAwait)
    ->Name(std::string(kAwait) + "/floor: bare coroutines")
    ->UseRealTime();

// A sleeping task's timer: when it wakes and what it resumes.
struct Timer {
  std::chrono::steady_clock::time_point deadline;
  std::coroutine_handle<> coroutine;
};

// Suspends the coroutine in `timers` for an hour.
struct SleepAnHourIn {
  std::vector<Timer>* timers;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> coroutine) const {
    timers->push_back(
        {std::chrono::steady_clock::now() + std::chrono::hours(1), coroutine});
  }
  void await_resume() const noexcept {}
};

FloorTask SleepAnHour(std::vector<Timer>* timers) {
  co_await SleepAnHourIn{timers};
}

void FloorMemory(benchmark::State& state) {
  while (state.KeepRunningBatch(kTasks)) {
    StartColdBatch(state);
    FloorLoop batch;
    loop = &batch;
    std::vector<Timer> timers;
    const int64_t before = ResidentBytes();
    for (int i = 0; i < kTasks; ++i) SleepAnHour(&timers);
    batch.Run();  // Every task is now asleep.
    ReportBytes(state, ResidentBytes() - before);
    if (timers.size() != kTasks) state.SkipWithError("a task is not asleep");
    for (const Timer& timer : timers) timer.coroutine.destroy();
  }
}
BENCHMARK(FloorMemory)
    ->Name(std::string(kMemory) + "/floor: bare coroutines")
    ->UseManualTime()
    ->Iterations(kTasks);

}  // namespace
}  // namespace pyconc::bench
