// Semaphore and BoundedSemaphore: the behaviours CPython's lock_tests.py
// (BaseSemaphoreTests and its subclasses) checks.

#include "sync/semaphore/semaphore.h"

#include <algorithm>
#include <atomic>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "sync/lock/condition.h"
#include "sync/lock/lock.h"
#include "tests/sync/testing/bunch.h"

namespace pyconc::sync {
namespace {

using testing::Bunch;
using testing::ExpectTimesOut;

TEST(SemaphoreTest, CountsPermits) {
  Semaphore sem(3);
  sem.Acquire();
  sem.Acquire();
  EXPECT_EQ(sem.value(), 1);
  sem.Release(2);
  EXPECT_EQ(sem.value(), 3);
  Semaphore default_sem;
  EXPECT_EQ(default_sem.value(), 1);
}

TEST(SemaphoreTest, TryAcquire) {
  Semaphore sem(2);
  EXPECT_TRUE(sem.Acquire(/*blocking=*/false));
  EXPECT_TRUE(sem.Acquire(/*blocking=*/false));
  EXPECT_FALSE(sem.Acquire(/*blocking=*/false));
  sem.Release();
  EXPECT_TRUE(sem.Acquire(/*blocking=*/false));
}

TEST(SemaphoreTest, TimeoutReturnsFalseAndLeavesSemaphoreUsable) {
  Semaphore sem(0);
  ExpectTimesOut(absl::Milliseconds(20),
                 [&](absl::Duration t) { return sem.Acquire(true, t); });
  sem.Release();
  EXPECT_TRUE(sem.Acquire(true, absl::Seconds(60)));
}

TEST(SemaphoreTest, ReleaseLetsExactlyThatManyWaitersThrough) {
  constexpr int kWaiters = 10;
  Semaphore sem(0);
  Lock lock;
  Condition passed_changed(lock);
  int passed = 0;
  Bunch bunch(kWaiters, [&](int) {
    sem.Acquire();
    Guard guard(lock);
    ++passed;
    passed_changed.NotifyAll();
  });
  sem.Release(3);
  {
    Guard guard(lock);
    passed_changed.WaitFor([&] { return passed >= 3; });
    EXPECT_EQ(sem.value(), 0);  // The three permits went to three waiters.
  }
  sem.Release(kWaiters - 3);
  bunch.Join();
  EXPECT_EQ(passed, kWaiters);
  EXPECT_EQ(sem.value(), 0);
}

TEST(SemaphoreTest, GuardHoldsAPermit) {
  BoundedSemaphore sem(2);
  {
    Guard guard(sem);
    EXPECT_EQ(sem.value(), 1);
  }
  EXPECT_EQ(sem.value(), 2);
}

TEST(SemaphoreTest, UnboundedMayBeReleasedAboveItsStart) {
  Semaphore sem(1);
  sem.Release(5);
  EXPECT_EQ(sem.value(), 6);
}

TEST(SemaphoreTest, ManyThreadsNeverExceedTheLimit) {
  constexpr int kLimit = 3;
  constexpr int kThreads = 16;
  BoundedSemaphore sem(kLimit);
  std::atomic<int> inside{0};
  std::atomic<int> most_inside{0};
  Bunch(kThreads, [&](int) {
    for (int i = 0; i < 200; ++i) {
      Guard guard(sem);
      const int now = inside.fetch_add(1) + 1;
      int most = most_inside.load();
      while (now > most && !most_inside.compare_exchange_weak(most, now)) {
      }
      inside.fetch_sub(1);
    }
  });
  EXPECT_LE(most_inside.load(), kLimit);
  EXPECT_GE(most_inside.load(), 1);
  EXPECT_EQ(sem.value(), kLimit);
}

TEST(SemaphoreDeathTest, MisuseIsValueError) {
  testing::UseThreadsafeDeathTests();
  EXPECT_DEATH(Semaphore(-1),
               "ValueError: semaphore initial value must be >= 0");
  Semaphore sem(1);
  EXPECT_DEATH(sem.Release(0), "ValueError: n must be one or more");
  EXPECT_DEATH(sem.Acquire(false, absl::Seconds(1)), "ValueError");
}

TEST(SemaphoreDeathTest, OverReleasingABoundedSemaphoreIsValueError) {
  testing::UseThreadsafeDeathTests();
  BoundedSemaphore sem(2);
  sem.Acquire();
  sem.Release();
  EXPECT_DEATH(sem.Release(), "ValueError: Semaphore released too many times");
  sem.Acquire();
  EXPECT_DEATH(sem.Release(2), "ValueError: Semaphore released too many times");
}

}  // namespace
}  // namespace pyconc::sync
