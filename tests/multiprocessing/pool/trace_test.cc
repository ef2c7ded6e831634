// ProcessPoolExecutor on the timeline: each call a slice on its worker
// process's track, an arrow from the manager sending it, and the calls in
// flight.

#include "base/trace.h"

#include <unistd.h>

#include <algorithm>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "multiprocessing/pool/executor.h"
#include "tests/base/trace_testing.h"
#include "tests/multiprocessing/process/no_orphans.h"

namespace pyconc::futures {
namespace {

using ProcessPoolTraceTest = multiprocessing::testing::NoOrphansTest;
using trace::testing::ExpectWellFormed;
using trace::testing::Of;

int Square(int x) { return x * x; }

TEST_F(ProcessPoolTraceTest, CallsOnWorkerProcessesWithFlows) {
  ASSERT_TRUE(trace::Start());
  {
    ProcessPoolExecutor pool({.max_workers = 2});
    std::vector<Future<int>> futures;
    for (int i = 0; i < 4; ++i) futures.push_back(*pool.Submit(&Square, i));
    for (int i = 0; i < 4; ++i) EXPECT_EQ(futures[i].Result(), i * i);
  }
  const std::vector<trace::Event> events = trace::Stop();
  ExpectWellFormed(events);

  std::vector<trace::Event> calls;
  for (const trace::Event& slice : Of(events, 'X', "pool")) {
    if (slice.name == "call") calls.push_back(slice);
  }
  ASSERT_EQ(calls.size(), 4u);
  std::set<int> workers;
  for (const trace::Event& call : calls) {
    EXPECT_NE(call.pid, ::getpid());
    workers.insert(call.pid);
  }
  EXPECT_LE(workers.size(), 2u);
  EXPECT_EQ(Of(events, 'X', "process").size(), 2u) << "each worker's body";
  const std::vector<trace::Event> sends = Of(events, 's', "pool");
  ASSERT_EQ(sends.size(), 4u);
  for (const trace::Event& send : sends) EXPECT_EQ(send.pid, ::getpid());
  EXPECT_EQ(Of(events, 'f', "pool").size(), 4u);
  double most = 0;
  for (const trace::Event& count : Of(events, 'C', "pool")) {
    most = std::max(most, count.value);
  }
  EXPECT_GE(most, 1);
}

}  // namespace
}  // namespace pyconc::futures
