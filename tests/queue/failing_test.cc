// Items whose move throws, and priority comparisons that throw, leave the queue
// as it was: the port of CPython's FailingQueueTest, where _put/_get raise, for
// each kind.

#include <stdexcept>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "queue/queue.h"
#include "queue/status.h"
#include "tests/queue/testing.h"

namespace pyconc::queue {
namespace {

using ::pyconc::queue::testing::ExpectBlocksUntil;

constexpr int kQueueSize = 5;

// When set, the next move of a Fragile (or the next comparison) made by this
// thread throws, once. Per thread, so a trigger thread's put is not the one
// that fails.
thread_local bool fail_next = false;

void ThrowIfArmed() {
  if (std::exchange(fail_next, false)) throw std::runtime_error("You Lose");
}

// An item whose move constructor throws on demand.
struct Fragile {
  explicit Fragile(int v) : value(v) {}
  Fragile(Fragile&& other) : value(other.value) { ThrowIfArmed(); }
  Fragile& operator=(Fragile&& other) {
    ThrowIfArmed();
    value = other.value;
    return *this;
  }
  int value;
};

// Python's heapq compares items; this order throws on demand.
struct FragileLess {
  bool operator()(const Fragile& a, const Fragile& b) const {
    ThrowIfArmed();
    return a.value < b.value;
  }
};

template <typename Q>
class FailingTest : public ::testing::Test {};

using Kinds = ::testing::Types<Queue<Fragile>, LifoQueue<Fragile>,
                               PriorityQueue<Fragile, FragileLess>>;
TYPED_TEST_SUITE(FailingTest, Kinds);

// test_queue.py's failing_queue_test, with "the next put/get fails" meaning
// "the item's move into/out of the queue throws".
template <typename Q>
void FailingQueueTest(Q& q) {
  ASSERT_EQ(q.QSize(), 0);
  for (int i = 0; i < kQueueSize - 1; ++i) ASSERT_TRUE(q.Put(Fragile(i)).ok());
  fail_next = true;
  EXPECT_THROW((void)q.PutNowait(Fragile(-1)), std::runtime_error);
  fail_next = true;
  EXPECT_THROW((void)q.Put(Fragile(-1), absl::Milliseconds(100)),
               std::runtime_error);
  EXPECT_EQ(q.QSize(), kQueueSize - 1);
  EXPECT_EQ(q.unfinished_tasks(), kQueueSize - 1);
  ASSERT_TRUE(q.Put(Fragile(100)).ok());
  EXPECT_TRUE(q.Full());
  // A failing blocking put: it blocks, a get makes room, then its move throws.
  ExpectBlocksUntil(
      [&] {
        fail_next = true;
        EXPECT_THROW((void)q.Put(Fragile(-1)), std::runtime_error);
      },
      [&] { EXPECT_TRUE(q.Get().ok()); });
  ASSERT_TRUE(q.Put(Fragile(100)).ok());
  EXPECT_TRUE(q.Full());
  ASSERT_TRUE(q.Get().ok());
  EXPECT_FALSE(q.Full());
  ASSERT_TRUE(q.Put(Fragile(100)).ok());
  ExpectBlocksUntil([&] { EXPECT_TRUE(q.Put(Fragile(100)).ok()); },
                    [&] { EXPECT_TRUE(q.Get().ok()); });
  for (int i = 0; i < kQueueSize; ++i) ASSERT_TRUE(q.Get().ok());
  EXPECT_EQ(q.QSize(), 0);
  // Failing gets leave the item in the queue.
  ASSERT_TRUE(q.Put(Fragile(1)).ok());
  fail_next = true;
  EXPECT_THROW((void)q.Get(), std::runtime_error);
  EXPECT_EQ(q.QSize(), 1);
  fail_next = true;
  EXPECT_THROW((void)q.Get(absl::Milliseconds(100)), std::runtime_error);
  EXPECT_EQ(q.QSize(), 1);
  EXPECT_EQ(q.Get()->value, 1);
  EXPECT_EQ(q.QSize(), 0);
  // A failing blocking get: it blocks, a put arrives, then the move out throws.
  ExpectBlocksUntil(
      [&] {
        fail_next = true;
        EXPECT_THROW((void)q.Get(), std::runtime_error);
      },
      [&] { EXPECT_TRUE(q.Put(Fragile(2)).ok()); });
  EXPECT_EQ(q.QSize(), 1);
  EXPECT_EQ(q.Get()->value, 2);
  EXPECT_EQ(q.QSize(), 0);
  while (q.unfinished_tasks() > 0) q.TaskDone();
}

TYPED_TEST(FailingTest, FailingQueue) {
  // Twice on the same queue, as CPython does.
  TypeParam q(kQueueSize);
  FailingQueueTest(q);
  FailingQueueTest(q);
  EXPECT_EQ(q.unfinished_tasks(), 0);
}

TEST(FailingPriorityTest, ThrowingComparisonsKeepTheHeapIntact) {
  PriorityQueue<Fragile, FragileLess> q;
  for (int i : {50, 20, 80, 10, 60, 30, 70, 40})
    ASSERT_TRUE(q.Put(Fragile(i)).ok());
  // Every comparison of a put or a get in turn throws; each time nothing
  // changes.
  for (int round = 0; round < 8; ++round) {
    fail_next = true;
    EXPECT_THROW((void)q.Put(Fragile(5 + round)), std::runtime_error);
    fail_next = true;
    EXPECT_THROW((void)q.Get(), std::runtime_error);
    EXPECT_EQ(q.QSize(), 8 - round);
    EXPECT_EQ(q.Get()->value, 10 * (round + 1));
  }
  EXPECT_TRUE(q.Empty());
}

}  // namespace
}  // namespace pyconc::queue
