// Ports of the shutdown tests of CPython 3.13's Lib/test/test_queue.py, run on
// each kind of queue, plus shutdown with several blocked getters, putters and
// joiners.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/barrier.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "queue/queue.h"
#include "queue/status.h"
#include "tests/queue/testing.h"
#include "threading/thread/thread.h"

namespace pyconc::queue {
namespace {

using ::pyconc::queue::testing::kStillBlocked;
using ::pyconc::threading::Thread;

template <typename Q>
class ShutdownTest : public ::testing::Test {
 public:
  // Results appended by several threads, as the Python tests' lists.
  void Append(bool result) {
    absl::MutexLock lock(&mu_);
    results_.push_back(result);
  }
  std::vector<bool> Results() {
    absl::MutexLock lock(&mu_);
    return results_;
  }
  // test_queue.py's _get / _get_shutdown: true when the outcome was the
  // expected one.
  void GetExpecting(Q& q, absl::Notification& go, bool shutdown) {
    go.WaitForNotification();
    absl::StatusOr<std::string> got = q.Get();
    Append(shutdown ? IsShutDown(got.status()) : got.ok());
  }
  void PutExpectingShutDown(Q& q, absl::Notification& go) {
    go.WaitForNotification();
    Append(IsShutDown(q.Put("E")));
  }
  void GetTaskDone(Q& q, absl::Notification& go) {
    go.WaitForNotification();
    absl::StatusOr<std::string> got = q.Get();
    if (got.ok()) q.TaskDone();
    Append(got.ok());
  }
  void JoinThenAppend(Q& q) {
    q.Join();
    Append(true);
  }
  // Starts a thread running `f` and keeps it until the test joins them all.
  template <typename F>
  void Spawn(F f) {
    threads_.emplace_back(f);
    EXPECT_TRUE(threads_.back().Start().ok());
  }
  void JoinAll() {
    for (Thread& thread : threads_) thread.Join();
  }

 private:
  absl::Mutex mu_;
  std::vector<bool> results_ ABSL_GUARDED_BY(mu_);
  std::deque<Thread> threads_;
};

using Kinds = ::testing::Types<Queue<std::string>, LifoQueue<std::string>,
                               PriorityQueue<std::string>>;
TYPED_TEST_SUITE(ShutdownTest, Kinds);

TYPED_TEST(ShutdownTest, Empty) {
  TypeParam q;
  q.Shutdown();
  EXPECT_TRUE(IsShutDown(q.Put("data")));
  EXPECT_TRUE(IsShutDown(q.Get().status()));
}

TYPED_TEST(ShutdownTest, NonEmpty) {
  TypeParam q;
  ASSERT_TRUE(q.Put("data").ok());
  q.Shutdown();
  EXPECT_EQ(*q.Get(), "data");
  EXPECT_TRUE(IsShutDown(q.Get().status()));
}

TYPED_TEST(ShutdownTest, Immediate) {
  TypeParam q;
  ASSERT_TRUE(q.Put("data").ok());
  q.Shutdown(/*immediate=*/true);
  EXPECT_TRUE(IsShutDown(q.Get().status()));
}

TYPED_TEST(ShutdownTest, AllowedTransitions) {
  TypeParam q;
  EXPECT_FALSE(q.is_shutdown());
  q.Shutdown();
  EXPECT_TRUE(q.is_shutdown());
  q.Shutdown(/*immediate=*/true);
  EXPECT_TRUE(q.is_shutdown());
  q.Shutdown(/*immediate=*/false);
  EXPECT_TRUE(q.is_shutdown());
}

TYPED_TEST(ShutdownTest, AllMethodsInOneThread) {
  TypeParam q(2);
  ASSERT_TRUE(q.Put("L").ok());
  ASSERT_TRUE(q.PutNowait("O").ok());
  q.Shutdown();
  EXPECT_TRUE(IsShutDown(q.Put("E")));
  EXPECT_TRUE(IsShutDown(q.PutNowait("W")));
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::string> got = q.Get();
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(*got == "L" || *got == "O");
    q.TaskDone();
  }
  q.Join();
  EXPECT_TRUE(IsShutDown(q.Get().status()));
  EXPECT_TRUE(IsShutDown(q.GetNowait().status()));
  EXPECT_TRUE(IsShutDown(q.Get(absl::Seconds(1)).status()));
}

TYPED_TEST(ShutdownTest, ImmediateAllMethodsInOneThread) {
  TypeParam q(2);
  ASSERT_TRUE(q.Put("L").ok());
  ASSERT_TRUE(q.PutNowait("O").ok());
  q.Shutdown(/*immediate=*/true);
  EXPECT_TRUE(IsShutDown(q.Put("E")));
  EXPECT_TRUE(IsShutDown(q.PutNowait("W")));
  EXPECT_TRUE(IsShutDown(q.Get().status()));
  EXPECT_TRUE(IsShutDown(q.GetNowait().status()));
  EXPECT_EQ(q.unfinished_tasks(), 0);  // so TaskDone() here would be misuse
  q.Join();
}

// test_queue.py's _shutdown_all_methods_in_many_threads: writers, readers and
// (when immediate) joiners run until one writer shuts the queue down midway.
template <typename Q>
void AllMethodsInManyThreads(bool immediate) {
  Q q;
  constexpr int kWriters = 4, kReaders = 6, kJoiners = 2;
  constexpr int kPerWriter = 1024 * 64 / kWriters;
  constexpr int kWhenShutdown = kPerWriter / 2;
  absl::Barrier* start =
      new absl::Barrier(kWriters + kReaders + (immediate ? kJoiners : 0));
  absl::Notification shutdown_now, shut_down;
  std::atomic<bool> triggered{false};
  std::atomic<int> writers_stopped{0}, readers_stopped{0};
  std::atomic<bool> empty_after_immediate{false};
  std::deque<Thread> threads;
  auto wait_at_start = [&] {
    if (start->Block()) delete start;
  };
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&] {
      for (int i = 0; i < kWhenShutdown / 2; ++i)
        ASSERT_TRUE(q.Put("LOYD").ok());
      wait_at_start();
      for (int i = kWhenShutdown / 2; i < kPerWriter; ++i) {
        if (IsShutDown(q.Put("YDLO"))) {
          ++writers_stopped;
          return;
        }
        // One writer triggers the shutdown and waits for it, so that at least
        // one put is refused however the threads are scheduled.
        if (i == kWhenShutdown && !triggered.exchange(true)) {
          shutdown_now.Notify();
          shut_down.WaitForNotification();
        }
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&] {
      ASSERT_TRUE(q.Get().ok());
      q.TaskDone();
      wait_at_start();
      for (;;) {
        absl::StatusOr<std::string> got = q.GetNowait();
        if (got.ok()) {
          q.TaskDone();
        } else if (IsShutDown(got.status())) {
          ++readers_stopped;
          return;
        }
      }
    });
  }
  threads.emplace_back([&] {
    shutdown_now.WaitForNotification();
    q.Shutdown(immediate);
    if (immediate) empty_after_immediate = q.QSize() == 0;
    shut_down.Notify();
  });
  if (immediate) {
    for (int j = 0; j < kJoiners; ++j) {
      threads.emplace_back([&] {
        wait_at_start();
        q.Join();
      });
    }
  }
  for (Thread& thread : threads) EXPECT_TRUE(thread.Start().ok());
  for (Thread& thread : threads) thread.Join();
  EXPECT_GT(writers_stopped.load(), 0);
  EXPECT_EQ(readers_stopped.load(), kReaders);
  if (immediate) {
    EXPECT_TRUE(empty_after_immediate.load());
    EXPECT_TRUE(q.Empty());
  }
}

TYPED_TEST(ShutdownTest, AllMethodsInManyThreads) {
  AllMethodsInManyThreads<TypeParam>(false);
}

TYPED_TEST(ShutdownTest, ImmediateAllMethodsInManyThreads) {
  AllMethodsInManyThreads<TypeParam>(true);
}

// test_queue.py's _shutdown_get: getters arrive at a full queue of two items
// just after Shutdown(). Each result is true when the getter got what it
// expected: an item, or ShutDown when `immediate`. Returns them sorted.
template <typename Fixture, typename Q>
std::vector<bool> ShutdownGet(Fixture* test, bool immediate, int getters) {
  Q q(2);
  EXPECT_TRUE(q.Put("Y").ok());
  EXPECT_TRUE(q.Put("D").ok());
  absl::Notification go;
  for (int i = 0; i < getters; ++i) {
    test->Spawn([&] { test->GetExpecting(q, go, /*shutdown=*/immediate); });
  }
  q.Shutdown(immediate);
  go.Notify();
  test->JoinAll();
  std::vector<bool> results = test->Results();
  std::sort(results.begin(), results.end());
  return results;
}

// Of three getters, the one that finds the queue drained is refused.
TYPED_TEST(ShutdownTest, Get) {
  EXPECT_EQ((ShutdownGet<TestFixture, TypeParam>(this, false, 3)),
            std::vector<bool>({false, true, true}));
}

// After an immediate shutdown both getters are refused.
TYPED_TEST(ShutdownTest, ImmediateGet) {
  EXPECT_EQ((ShutdownGet<TestFixture, TypeParam>(this, true, 2)),
            std::vector<bool>({true, true}));
}

// test_queue.py's _shutdown_put: putters arriving at a full, shut-down queue
// fail.
TYPED_TEST(ShutdownTest, Put) {
  TypeParam q(2);
  ASSERT_TRUE(q.Put("Y").ok());
  ASSERT_TRUE(q.Put("D").ok());
  absl::Notification go;
  for (int i = 0; i < 2; ++i)
    this->Spawn([&] { this->PutExpectingShutDown(q, go); });
  q.Shutdown();
  go.Notify();
  this->JoinAll();
  EXPECT_EQ(this->Results(), std::vector<bool>({true, true}));
}

// test_queue.py's _shutdown_join: joiners return once the last task is done, by
// a getter (shutdown) or by discarding it (immediate).
TYPED_TEST(ShutdownTest, Join) {
  for (bool immediate : {false, true}) {
    TypeParam q;
    ASSERT_TRUE(q.Put("Y").ok());
    absl::Notification go;
    std::vector<std::unique_ptr<Thread>> joiners;
    std::atomic<int> joined{0};
    for (int i = 0; i < 2; ++i) {
      joiners.push_back(std::make_unique<Thread>([&] {
        q.Join();
        ++joined;
      }));
      EXPECT_TRUE(joiners.back()->Start().ok());
    }
    std::unique_ptr<Thread> getter;
    if (!immediate) {
      getter = std::make_unique<Thread>([&] {
        go.WaitForNotification();
        ASSERT_TRUE(q.Get().ok());
        q.TaskDone();
      });
      EXPECT_TRUE(getter->Start().ok());
    }
    q.Shutdown(immediate);
    go.Notify();
    for (auto& joiner : joiners) joiner->Join();
    if (getter) getter->Join();
    EXPECT_EQ(joined.load(), 2);
  }
}

// test_queue.py's _shutdown_put_join.
TYPED_TEST(ShutdownTest, PutJoin) {
  for (bool immediate : {false, true}) {
    TypeParam q(2);
    ASSERT_TRUE(q.Put("Y").ok());
    absl::Notification go;
    std::atomic<int> ok{0};
    Thread putter([&] {
      go.WaitForNotification();
      if (IsShutDown(q.Put("E"))) ++ok;
    });
    Thread joiner([&] {
      q.Join();
      ++ok;
    });
    EXPECT_TRUE(putter.Start().ok());
    EXPECT_TRUE(joiner.Start().ok());
    EXPECT_EQ(q.unfinished_tasks(), 1);
    q.Shutdown(immediate);
    go.Notify();
    if (immediate) {
      EXPECT_TRUE(IsShutDown(q.GetNowait().status()));
    } else {
      EXPECT_EQ(*q.Get(), "Y");
      q.TaskDone();
    }
    putter.Join();
    joiner.Join();
    EXPECT_EQ(ok.load(), 2);
  }
}

// test_queue.py's test_shutdown_get_task_done_join.
TYPED_TEST(ShutdownTest, GetTaskDoneJoin) {
  TypeParam q(2);
  ASSERT_TRUE(q.Put("Y").ok());
  ASSERT_TRUE(q.Put("D").ok());
  EXPECT_EQ(q.unfinished_tasks(), q.QSize());
  absl::Notification go;
  for (int i = 0; i < 2; ++i) this->Spawn([&] { this->GetTaskDone(q, go); });
  for (int i = 0; i < 2; ++i) this->Spawn([&] { this->JoinThenAppend(q); });
  go.Notify();
  q.Shutdown(false);
  this->JoinAll();
  EXPECT_EQ(this->Results(), std::vector<bool>(4, true));
}

// test_queue.py's test_shutdown_pending_get.
TYPED_TEST(ShutdownTest, PendingGet) {
  TypeParam q;
  absl::StatusOr<std::string> result;
  Thread getter([&] { result = q.Get(); });
  EXPECT_TRUE(getter.Start().ok());
  q.Shutdown(/*immediate=*/false);
  ASSERT_TRUE(getter.Join(absl::Seconds(10)));
  EXPECT_TRUE(IsShutDown(result.status()));
}

// Several getters and putters blocked at once all wake with ShutDown.
TYPED_TEST(ShutdownTest, WakesEveryBlockedGetterAndPutter) {
  for (bool immediate : {false, true}) {
    TypeParam empty(1), full(1);
    ASSERT_TRUE(full.Put("x").ok());
    std::atomic<int> shut_down{0};
    std::deque<Thread> threads;
    for (int i = 0; i < 3; ++i) {
      threads.emplace_back([&] {
        if (IsShutDown(empty.Get().status())) ++shut_down;
      });
      threads.emplace_back([&] {
        if (IsShutDown(full.Put("y"))) ++shut_down;
      });
    }
    for (Thread& thread : threads) EXPECT_TRUE(thread.Start().ok());
    for (Thread& thread : threads) EXPECT_FALSE(thread.Join(kStillBlocked));
    EXPECT_EQ(shut_down.load(), 0);
    empty.Shutdown(immediate);
    full.Shutdown(immediate);
    for (Thread& thread : threads) thread.Join();
    EXPECT_EQ(shut_down.load(), 6);
    // The item of the full queue is still there unless the shutdown was
    // immediate.
    EXPECT_EQ(full.GetNowait().ok(), !immediate);
  }
}

// An immediate shutdown wakes a blocked Join: the discarded items count as
// done.
TYPED_TEST(ShutdownTest, ImmediateWakesJoin) {
  TypeParam q;
  ASSERT_TRUE(q.Put("a").ok());
  ASSERT_TRUE(q.Put("b").ok());
  Thread joiner([&] { q.Join(); });
  EXPECT_TRUE(joiner.Start().ok());
  EXPECT_FALSE(joiner.Join(kStillBlocked));
  q.Shutdown(/*immediate=*/true);
  joiner.Join();
  EXPECT_EQ(q.unfinished_tasks(), 0);
}

}  // namespace
}  // namespace pyconc::queue
