// ThreadPoolExecutor on the timeline: a slice per call on its worker's track,
// an arrow from each Submit() to its call, and the calls in flight.

#include "base/trace.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/base/trace_testing.h"
#include "threading/pool/executor.h"
#include "threading/pool/future.h"

namespace pyconc::futures {
namespace {

using trace::testing::ExpectWellFormed;
using trace::testing::Of;
using trace::testing::TrackNames;

TEST(ThreadPoolTrace, CallsOnWorkerTracksWithFlowsAndCount) {
  ASSERT_TRUE(trace::Start());
  absl::Mutex mu;
  int entered = 0;
  {
    ThreadPoolExecutor pool({.max_workers = 2, .thread_name_prefix = "pool"});
    std::vector<Future<int>> futures;
    for (int i = 0; i < 4; ++i) {
      // The first two calls wait for each other, so both workers run one at
      // the same time.
      futures.push_back(*pool.Submit([&mu, &entered, i] {
        absl::MutexLock lock(&mu);
        ++entered;
        if (i < 2)
          mu.Await(absl::Condition(
              +[](int* n) { return *n >= 2; }, &entered));
        return i;
      }));
    }
    for (int i = 0; i < 4; ++i) EXPECT_EQ(futures[i].Result(), i);
  }
  const std::vector<trace::Event> events = trace::Stop();
  ExpectWellFormed(events);

  std::vector<trace::Event> calls, submits;
  for (const trace::Event& slice : Of(events, 'X', "pool")) {
    (slice.name == "call" ? calls : submits).push_back(slice);
  }
  ASSERT_EQ(calls.size(), 4u);
  ASSERT_EQ(submits.size(), 4u);
  std::set<int> workers;
  for (const trace::Event& call : calls) {
    workers.insert(call.tid);
    EXPECT_TRUE(
        absl::StartsWith(TrackNames(events)[{call.pid, call.tid}], "pool_"));
  }
  EXPECT_EQ(workers.size(), 2u);
  for (const trace::Event& submit : submits) {
    EXPECT_EQ(submits[0].tid, submit.tid);
    EXPECT_EQ(workers.count(submit.tid), 0u);
  }
  EXPECT_EQ(Of(events, 's', "pool").size(), 4u);
  EXPECT_EQ(Of(events, 'f', "pool").size(), 4u);

  double most = 0;
  const std::vector<trace::Event> counts = Of(events, 'C', "pool");
  ASSERT_EQ(counts.size(), 8u);
  for (const trace::Event& count : counts) {
    EXPECT_EQ(count.name, "pool calls in flight");
    most = std::max(most, count.value);
  }
  EXPECT_EQ(most, 2);
}

}  // namespace
}  // namespace pyconc::futures
