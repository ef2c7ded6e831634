// asyncio on the timeline: each task's life as an async span, each of its
// steps as a slice on the loop's thread.

#include "base/trace.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "asyncio/future.h"
#include "asyncio/loop.h"
#include "asyncio/run.h"
#include "asyncio/sleep.h"
#include "asyncio/task.h"
#include "gtest/gtest.h"
#include "tests/base/trace_testing.h"

namespace pyconc::asyncio {
namespace {

using trace::testing::ExpectWellFormed;
using trace::testing::Of;

Coroutine<void> TwoSleeps() {
  co_await Sleep(absl::ZeroDuration());
  co_await Sleep(absl::ZeroDuration());
}

TEST(AsyncioTrace, TaskLivesAndSteps) {
  ASSERT_TRUE(trace::Start());
  asyncio::Run([]() -> Coroutine<void> {
    std::vector<Task<void>> tasks;
    for (const char* name : {"w0", "w1", "w2"}) {
      tasks.push_back(CreateTask(TwoSleeps(), {.name = name}));
    }
    Task<void> cancelled = CreateTask(TwoSleeps(), {.name = "cancelled"});
    cancelled.Cancel();
    for (Task<void>& task : tasks) co_await task;
  }());
  const std::vector<trace::Event> events = trace::Stop();
  ExpectWellFormed(events);

  std::map<std::string, int> steps;
  std::set<int> threads;
  for (const trace::Event& step : Of(events, 'X', "asyncio")) {
    ++steps[step.name];
    threads.insert(step.tid);
  }
  EXPECT_EQ(threads.size(), 1u) << "one thread runs every step";
  // Its first step and one after each sleep.
  for (const char* name : {"w0", "w1", "w2"}) EXPECT_EQ(steps[name], 3) << name;
  EXPECT_EQ(steps["cancelled"], 1) << "the step that finds it cancelled";

  std::map<std::string, std::pair<int64_t, int64_t>> lives;
  for (const trace::Event& begin : Of(events, 'b', "asyncio")) {
    if (begin.name != "await") lives[begin.name].first = begin.ts_ns;
  }
  for (const trace::Event& end : Of(events, 'e', "asyncio")) {
    if (end.name != "await") lives[end.name].second = end.ts_ns;
  }
  // The three workers, the cancelled one and Run()'s main task.
  EXPECT_EQ(lives.size(), 5u);
  for (const trace::Event& step : Of(events, 'X', "asyncio")) {
    const auto& [begin, end] = lives[step.name];
    // (The last step ends the life from inside, so only its start is.)
    EXPECT_LE(begin, step.ts_ns) << step.name;
    EXPECT_LE(step.ts_ns, end) << step.name;
  }
}

Coroutine<int> Produce(Future<int>& ready) {
  co_await Sleep(absl::ZeroDuration());
  ready.SetResult(7);
  co_return 0;
}

// Each await is a span inside the task's life, and a future's result draws a
// flow from the step that set it to the step of the task it resumes.
TEST(AsyncioTrace, AwaitsAndWakeFlows) {
  ASSERT_TRUE(trace::Start());
  asyncio::Run([]() -> Coroutine<void> {
    Future<int> ready = GetRunningLoop().CreateFuture<int>();
    Task<int> producer = CreateTask(Produce(ready), {.name = "producer"});
    Task<int> consumer = CreateTask(
        [](Future<int>& ready) -> Coroutine<int> {
          co_return co_await ready;
        }(ready),
        {.name = "consumer"});
    EXPECT_EQ(co_await consumer, 7);
    co_await producer;
  }());
  const std::vector<trace::Event> events = trace::Stop();
  ExpectWellFormed(events);

  std::map<std::string, int64_t> step_of;  // A step's start, by task name.
  int awaits = 0;
  for (const trace::Event& begin : Of(events, 'b', "asyncio")) {
    if (begin.name == "await") ++awaits;
  }
  // The producer's sleep, the consumer's future and main's await of the
  // consumer (the producer is done by then: no suspension).
  EXPECT_EQ(awaits, 3);
  // The flow into the consumer's second step starts in the producer's step.
  const std::vector<trace::Event> starts = Of(events, 's', "asyncio");
  const std::vector<trace::Event> finishes = Of(events, 'f', "asyncio");
  bool producer_to_consumer = false;
  for (const trace::Event& start : starts) {
    for (const trace::Event& finish : finishes) {
      if (finish.id != start.id) continue;
      std::string from, to;
      for (const trace::Event& step : Of(events, 'X', "asyncio")) {
        if (step.ts_ns <= start.ts_ns &&
            start.ts_ns <= step.ts_ns + step.dur_ns) {
          from = step.name;
        }
        if (step.ts_ns <= finish.ts_ns &&
            finish.ts_ns <= step.ts_ns + step.dur_ns) {
          to = step.name;
        }
      }
      if (from == "producer" && to == "consumer") producer_to_consumer = true;
    }
  }
  EXPECT_TRUE(producer_to_consumer);
}

}  // namespace
}  // namespace pyconc::asyncio
