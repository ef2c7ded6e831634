// Ports of CPython 3.13's Lib/test/test_queue.py (BaseQueueTestMixin), run on
// each kind of queue, plus what C++ adds: move-only items and timeouts as
// Durations.

#include "queue/queue.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "queue/status.h"
#include "tests/queue/testing.h"
#include "threading/thread/thread.h"

namespace pyconc::queue {
namespace {

using ::pyconc::queue::testing::ExpectBlocksUntil;
using ::pyconc::threading::Thread;

constexpr int64_t kQueueSize = 5;

template <typename Q>
class KindTest : public ::testing::Test {
 protected:
  // The order 111, 333, 222 comes out in, as test_queue.py's target_order.
  static std::vector<int> TargetOrder() {
    if constexpr (std::is_same_v<Q, Queue<int>>) return {111, 333, 222};
    if constexpr (std::is_same_v<Q, LifoQueue<int>>) return {222, 333, 111};
    return {111, 222, 333};
  }

  // test_queue.py's basic_queue_test.
  static void BasicQueueTest(Q& q) {
    ASSERT_EQ(q.QSize(), 0);
    EXPECT_TRUE(q.Empty());
    EXPECT_FALSE(q.Full());
    ASSERT_TRUE(q.Put(111).ok());
    ASSERT_TRUE(q.Put(333).ok());
    ASSERT_TRUE(q.Put(222).ok());
    std::vector<int> actual;
    for (int i = 0; i < 3; ++i) actual.push_back(*q.Get());
    EXPECT_EQ(actual, TargetOrder());
    for (int i = 0; i < kQueueSize - 1; ++i) {
      ASSERT_TRUE(q.Put(i).ok());
      EXPECT_GT(q.QSize(), 0);
    }
    EXPECT_FALSE(q.Full());
    const int last = 2 * kQueueSize;
    const int full = 3 * 2 * kQueueSize;
    ASSERT_TRUE(q.Put(last).ok());
    EXPECT_TRUE(q.Full());
    EXPECT_FALSE(q.Empty());
    EXPECT_TRUE(IsFull(q.PutNowait(full)));
    EXPECT_TRUE(IsFull(q.Put(full, absl::Milliseconds(10))));
    ExpectBlocksUntil([&] { EXPECT_TRUE(q.Put(full).ok()); },
                      [&] { EXPECT_TRUE(q.Get().ok()); });
    ExpectBlocksUntil([&] { EXPECT_TRUE(q.Put(full, absl::Seconds(10)).ok()); },
                      [&] { EXPECT_TRUE(q.Get().ok()); });
    for (int i = 0; i < kQueueSize; ++i) ASSERT_TRUE(q.Get().ok());
    EXPECT_EQ(q.QSize(), 0);
    EXPECT_TRUE(IsEmpty(q.GetNowait().status()));
    EXPECT_TRUE(IsEmpty(q.Get(absl::Milliseconds(10)).status()));
    ExpectBlocksUntil([&] { EXPECT_EQ(*q.Get(), 7); },
                      [&] { EXPECT_TRUE(q.Put(7).ok()); });
    ExpectBlocksUntil([&] { EXPECT_EQ(*q.Get(absl::Seconds(10)), 8); },
                      [&] { EXPECT_TRUE(q.Put(8).ok()); });
  }
};

using Kinds = ::testing::Types<Queue<int>, LifoQueue<int>, PriorityQueue<int>>;
TYPED_TEST_SUITE(KindTest, Kinds);

TYPED_TEST(KindTest, Basic) {
  // Twice on the same queue, as CPython does, to check it is reusable.
  TypeParam q(kQueueSize);
  this->BasicQueueTest(q);
  this->BasicQueueTest(q);
}

TYPED_TEST(KindTest, Nowait) {
  TypeParam q(kQueueSize);
  for (int i = 0; i < kQueueSize; ++i) ASSERT_TRUE(q.PutNowait(1).ok());
  EXPECT_TRUE(IsFull(q.PutNowait(1)));
  for (int i = 0; i < kQueueSize; ++i) ASSERT_TRUE(q.GetNowait().ok());
  EXPECT_TRUE(IsEmpty(q.GetNowait().status()));
}

TYPED_TEST(KindTest, MaxSizeAndUnbounded) {
  EXPECT_EQ(TypeParam(3).MaxSize(), 3);
  TypeParam unbounded(-1);
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(unbounded.PutNowait(i).ok());
  EXPECT_FALSE(unbounded.Full());
  EXPECT_EQ(unbounded.QSize(), 10000);
}

TYPED_TEST(KindTest, TimeoutsWaitAboutAsLongAsAsked) {
  TypeParam q(1);
  const absl::Duration timeout = absl::Milliseconds(30);
  absl::Time start = absl::Now();
  EXPECT_TRUE(IsEmpty(q.Get(timeout).status()));
  EXPECT_GE(absl::Now() - start, timeout);
  ASSERT_TRUE(q.Put(1).ok());
  start = absl::Now();
  EXPECT_TRUE(IsFull(q.Put(2, timeout)));
  EXPECT_GE(absl::Now() - start, timeout);
}

// test_queue.py's queue_join_test: two workers sum 0..99, join waits for all of
// them.
TYPED_TEST(KindTest, Join) {
  TypeParam q;
  for (int round = 0; round < 2; ++round) {
    absl::Mutex mu;
    int sum = 0;
    std::deque<Thread> workers;
    for (int i = 0; i < 2; ++i) {
      workers.emplace_back([&] {
        for (;;) {
          const int x = *q.Get();
          if (x >= 0) {
            absl::MutexLock lock(&mu);
            sum += x;
          }
          q.TaskDone();
          if (x < 0) return;
        }
      });
      EXPECT_TRUE(workers.back().Start().ok());
    }
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(q.Put(i).ok());
    q.Join();
    {
      absl::MutexLock lock(&mu);
      EXPECT_EQ(sum, 4950) << "Join() did not wait for every task";
    }
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(q.Put(-1).ok());
    q.Join();  // Joining twice works.
    for (Thread& worker : workers) worker.Join();
    EXPECT_EQ(q.unfinished_tasks(), 0);
  }
}

TYPED_TEST(KindTest, JoinBlocksUntilLastTaskDone) {
  TypeParam q;
  ASSERT_TRUE(q.Put(1).ok());
  ASSERT_TRUE(q.Put(2).ok());
  EXPECT_EQ(q.unfinished_tasks(), 2);
  EXPECT_FALSE(q.Join(absl::Milliseconds(10)));
  ASSERT_TRUE(q.Get().ok());
  ASSERT_TRUE(q.Get().ok());
  q.TaskDone();
  ExpectBlocksUntil([&] { q.Join(); }, [&] { q.TaskDone(); });
  EXPECT_TRUE(q.Join(absl::ZeroDuration()));
}

TYPED_TEST(KindTest, MoveOnlyItems) {
  using Item = std::unique_ptr<int>;
  struct Less {
    bool operator()(const Item& a, const Item& b) const { return *a < *b; }
  };
  using Q = std::conditional_t<
      std::is_same_v<TypeParam, Queue<int>>, Queue<Item>,
      std::conditional_t<std::is_same_v<TypeParam, LifoQueue<int>>,
                         LifoQueue<Item>, PriorityQueue<Item, Less>>>;
  Q q(1);
  Item item = std::make_unique<int>(42);
  ASSERT_TRUE(q.Put(std::move(item)).ok());
  Item refused = std::make_unique<int>(7);
  EXPECT_TRUE(IsFull(q.PutNowait(std::move(refused))));
  ASSERT_NE(refused, nullptr) << "a refused item must stay with the caller";
  absl::StatusOr<Item> got = q.Get();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(**got, 42);
}

TEST(OrderTest, EachKindKeepsItsOrderOverManyItems) {
  Queue<int> fifo;
  LifoQueue<int> lifo;
  PriorityQueue<int> priority;
  PriorityQueue<int, std::greater<int>> reversed;
  const std::vector<int> input = {5, 3, 9, 1, 7, 3, 8, 0, 6, 2, 4};
  for (int x : input) {
    ASSERT_TRUE(fifo.Put(x).ok());
    ASSERT_TRUE(lifo.Put(x).ok());
    ASSERT_TRUE(priority.Put(x).ok());
    ASSERT_TRUE(reversed.Put(x).ok());
  }
  std::vector<int> sorted = input;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < input.size(); ++i) {
    EXPECT_EQ(*fifo.Get(), input[i]);
    EXPECT_EQ(*lifo.Get(), input[input.size() - 1 - i]);
    EXPECT_EQ(*priority.Get(), sorted[i]);
    EXPECT_EQ(*reversed.Get(), sorted[sorted.size() - 1 - i]);
  }
}

TEST(OrderTest, FifoCrossesManyBlocks) {
  Queue<std::string> q;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 5000; ++i) ASSERT_TRUE(q.Put(std::to_string(i)).ok());
    for (int i = 0; i < 5000; ++i) ASSERT_EQ(*q.Get(), std::to_string(i));
  }
  // Items left in the queue are destroyed with it (checked by asan's leak
  // check).
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE(q.Put(std::string(100, 'x')).ok());
}

TEST(SimpleQueueTest, FifoWithoutBound) {
  SimpleQueue<int> q;
  EXPECT_TRUE(q.Empty());
  for (int i = 0; i < 3000; ++i) q.Put(i);
  q.PutNowait(3000);
  EXPECT_EQ(q.QSize(), 3001);
  for (int i = 0; i <= 3000; ++i) ASSERT_EQ(*q.GetNowait(), i);
  EXPECT_TRUE(IsEmpty(q.GetNowait().status()));
  EXPECT_TRUE(IsEmpty(q.Get(absl::Milliseconds(5)).status()));
  ExpectBlocksUntil([&] { EXPECT_EQ(*q.Get(), 9); }, [&] { q.Put(9); });
}

// CPython's BaseSimpleQueueTest.test_many_threads with blocking, non-blocking
// and timed consumers: every item arrives once.
TEST(SimpleQueueTest, ManyThreads) {
  SimpleQueue<int> q;
  constexpr int kThreads = 4, kItems = 20000;
  absl::Mutex mu;
  std::vector<int> results;
  std::deque<Thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kItems; i += kThreads) q.Put(i);
      q.Put(-1);
    });
    threads.emplace_back([&, t] {
      std::vector<int> mine;
      for (;;) {
        absl::StatusOr<int> got = t % 3 == 0   ? q.Get()
                                  : t % 3 == 1 ? q.GetNowait()
                                               : q.Get(absl::Microseconds(10));
        if (!got.ok()) continue;
        if (*got < 0) break;
        mine.push_back(*got);
      }
      absl::MutexLock lock(&mu);
      results.insert(results.end(), mine.begin(), mine.end());
    });
  }
  for (Thread& thread : threads) EXPECT_TRUE(thread.Start().ok());
  for (Thread& thread : threads) thread.Join();
  std::sort(results.begin(), results.end());
  ASSERT_EQ(results.size(), size_t{kItems});
  for (int i = 0; i < kItems; ++i) ASSERT_EQ(results[i], i);
}

TEST(StatusTest, OneCodePerPythonException) {
  EXPECT_TRUE(IsEmpty(EmptyError()));
  EXPECT_TRUE(IsFull(FullError()));
  EXPECT_TRUE(IsShutDown(ShutDownError()));
  EXPECT_FALSE(IsEmpty(FullError()));
  EXPECT_FALSE(IsFull(ShutDownError()));
  EXPECT_FALSE(IsShutDown(EmptyError()));
  EXPECT_FALSE(IsEmpty(absl::OkStatus()));
  EXPECT_EQ(EmptyError().message(), "queue.Empty");
  EXPECT_EQ(FullError().message(), "queue.Full");
  EXPECT_EQ(ShutDownError().message(), "queue.ShutDown");
}

}  // namespace
}  // namespace pyconc::queue
