// The trace recorder and its Chrome Trace Event JSON.

#include "base/trace.h"

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/trace_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace pyconc::trace {
namespace {

using ::testing::Contains;
using ::testing::Field;
using ::testing::IsEmpty;

TEST(Trace, RecordsNothingWhenOff) {
  ASSERT_FALSE(Enabled());
  { Slice slice("test", "ignored"); }
  Counter("test", "ignored", 1);
  ASSERT_TRUE(Start());
  EXPECT_THAT(Stop(), IsEmpty());
}

TEST(Trace, StartTwiceIsRefused) {
  ASSERT_TRUE(Start());
  EXPECT_FALSE(Start());
  Stop();
  EXPECT_FALSE(Enabled());
}

TEST(Trace, SlicesFlowsAndCountersOfTwoThreads) {
  ASSERT_TRUE(Start());
  NameThisThread("main");
  const uint64_t flow = NewId();
  const uint64_t span = NewId();
  {
    Slice submit("pool", "Submit");
    FlowBegin("pool", flow);
    AsyncBegin("task", "task-1", span);
  }
  std::thread worker([&] {
    NameThisThread("worker-0");
    Slice call("pool", "call");
    FlowEnd("pool", flow);
    Counter("pool", "in flight", 1);
  });
  worker.join();
  AsyncEnd("task", "task-1", span);
  const std::vector<Event> events = Stop();

  EXPECT_THAT(events, Contains(Field(&Event::name, "worker-0")));
  std::set<int> threads;
  for (const Event& event : events) threads.insert(event.tid);
  EXPECT_EQ(threads.size(), 2u);

  // The JSON pairs what must pair and nests the flow inside its slices.
  const nlohmann::json json = nlohmann::json::parse(ToChromeTraceJson(events));
  const nlohmann::json& list = json.at("traceEvents");
  int names = 0, slices = 0, begins = 0, ends = 0, starts = 0, finishes = 0,
      counters = 0;
  double last_ts = -1;
  for (const nlohmann::json& event : list) {
    const std::string phase = event.at("ph");
    if (phase == "M") {
      ++names;
      EXPECT_EQ(event.at("name"), "thread_name");
      continue;
    }
    const double ts = event.at("ts");
    EXPECT_GE(ts, last_ts) << "events are in time order";
    last_ts = ts;
    if (phase == "X") {
      ++slices;
      EXPECT_GE(event.at("dur").get<double>(), 0);
    }
    if (phase == "b") {
      ++begins;
      EXPECT_EQ(event.at("id"), span);
    }
    if (phase == "e") {
      ++ends;
      EXPECT_EQ(event.at("id"), span);
    }
    if (phase == "s") {
      ++starts;
      EXPECT_EQ(event.at("id"), flow);
    }
    if (phase == "f") {
      ++finishes;
      EXPECT_EQ(event.at("bp"), "e");
    }
    if (phase == "C") {
      ++counters;
      EXPECT_EQ(event.at("args").at("in flight"), 1);
    }
  }
  EXPECT_EQ(names, 2);
  EXPECT_EQ(slices, 2);
  EXPECT_EQ(begins, 1);
  EXPECT_EQ(ends, 1);
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(finishes, 1);
  EXPECT_EQ(counters, 1);
}

TEST(Trace, KeepsAtMostMaxEventsButEveryBody) {
  ASSERT_TRUE(Start());
  std::thread thread([] {
    Slice body("thread", "worker");
    for (int64_t i = 0; i < kMaxEvents + 10; ++i) Counter("test", "n", 1);
  });
  thread.join();
  const std::vector<Event> events = Stop();
  EXPECT_EQ(events.size(), static_cast<size_t>(kMaxEvents) + 1);
  EXPECT_EQ(DroppedEvents(), 10);
  EXPECT_THAT(events, Contains(Field(&Event::name, "worker")));
}

TEST(Trace, WriteReportsAnUnwritablePath) {
  const absl::Status status = WriteChromeTrace({}, "/no/such/dir/trace.json");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()),
              ::testing::StartsWith("FileNotFoundError: [Errno 2]"));
}

}  // namespace
}  // namespace pyconc::trace
