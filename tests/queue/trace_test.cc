// queue.Queue on the timeline: its depth as a counter after every Put and Get.

#include "base/trace.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "queue/queue.h"
#include "tests/base/trace_testing.h"

namespace pyconc::queue {
namespace {

using trace::testing::ExpectWellFormed;
using trace::testing::Of;

TEST(QueueTrace, DepthAfterEachPutAndGet) {
  Queue<int> q(/*maxsize=*/2);
  ASSERT_TRUE(trace::Start());
  ASSERT_TRUE(q.Put(1).ok());
  ASSERT_TRUE(q.Put(2).ok());
  EXPECT_FALSE(q.PutNowait(3).ok());  // Full: the depth stays 2.
  ASSERT_TRUE(q.Get().ok());
  ASSERT_TRUE(q.Get().ok());
  EXPECT_FALSE(q.GetNowait().ok());  // Empty: still 0.
  const std::vector<trace::Event> events = trace::Stop();
  ExpectWellFormed(events);
  std::vector<double> depths;
  for (const trace::Event& counter : Of(events, 'C', "queue")) {
    EXPECT_EQ(counter.name, "queue depth");
    depths.push_back(counter.value);
  }
  EXPECT_EQ(depths, (std::vector<double>{1, 2, 1, 0, 0}));
}

}  // namespace
}  // namespace pyconc::queue
