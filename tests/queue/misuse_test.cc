// Misuse that Python answers with ValueError aborts with a message naming it.

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "queue/queue.h"

namespace pyconc::queue {
namespace {

class MisuseDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// test_queue.py's test_queue_task_done.
TEST_F(MisuseDeathTest, TaskDoneOnFreshQueue) {
  Queue<int> q;
  EXPECT_DEATH(q.TaskDone(),
               "ValueError: task_done\\(\\) called too many times");
}

// test_queue.py's test_queue_join ends with one task_done too many.
TEST_F(MisuseDeathTest, TaskDoneMoreOftenThanPut) {
  LifoQueue<int> q;
  ASSERT_TRUE(q.Put(1).ok());
  ASSERT_TRUE(q.Get().ok());
  q.TaskDone();
  q.Join();
  EXPECT_DEATH(q.TaskDone(), "task_done\\(\\) called too many times");
}

// test_queue.py's test_negative_timeout_raises_exception.
TEST_F(MisuseDeathTest, NegativeTimeout) {
  PriorityQueue<int> q(5);
  EXPECT_DEATH((void)q.Put(1, absl::Seconds(-1)),
               "ValueError: 'timeout' must be a non-negative number");
  EXPECT_DEATH((void)q.Get(absl::Seconds(-1)),
               "ValueError: 'timeout' must be a non-negative number");
  SimpleQueue<int> s;
  EXPECT_DEATH((void)s.Get(absl::Milliseconds(-1)), "'timeout' must be");
}

}  // namespace
}  // namespace pyconc::queue
