// asyncio on the timeline: each task's life as an async span, each of its
// steps as a slice on the loop's thread.

#include "base/trace.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
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
    lives[begin.name].first = begin.ts_ns;
  }
  for (const trace::Event& end : Of(events, 'e', "asyncio")) {
    lives[end.name].second = end.ts_ns;
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

}  // namespace
}  // namespace pyconc::asyncio
