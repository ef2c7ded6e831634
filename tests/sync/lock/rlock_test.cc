// RLock: the behaviours CPython's lock_tests.py (BaseLockTests, RLockTests) checks.

#include "sync/lock/rlock.h"

#include <mutex>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "sync/lock/lock.h"
#include "tests/sync/testing/bunch.h"

namespace pyconc::sync {
namespace {

using testing::Bunch;
using testing::ExpectTimesOut;

TEST(RLockTest, ReacquireCountsRecursion) {
  RLock lock;
  lock.Acquire();
  lock.Acquire();
  lock.Acquire();
  EXPECT_EQ(lock.RecursionCount(), 3);
  lock.Release();
  lock.Release();
  EXPECT_TRUE(lock.Locked());
  EXPECT_EQ(lock.RecursionCount(), 1);
  lock.Release();
  EXPECT_FALSE(lock.Locked());
  EXPECT_EQ(lock.RecursionCount(), 0);
}

TEST(RLockTest, OwnershipIsPerThread) {
  RLock lock;
  Guard guard(lock);
  EXPECT_TRUE(lock.IsOwned());
  Bunch(1, [&](int) {
    EXPECT_FALSE(lock.IsOwned());
    EXPECT_EQ(lock.RecursionCount(), 0);
    EXPECT_FALSE(lock.Acquire(/*blocking=*/false));
  });
}

TEST(RLockTest, TimeoutReturnsFalseAndLeavesLockUsable) {
  RLock lock;
  lock.Acquire();
  Bunch(1, [&](int) {
    ExpectTimesOut(absl::Milliseconds(20),
                   [&](absl::Duration t) { return lock.Acquire(true, t); });
  });
  lock.Release();
  Bunch(1, [&](int) {
    ASSERT_TRUE(lock.Acquire(true, absl::Seconds(60)));
    EXPECT_EQ(lock.RecursionCount(), 1);
    lock.Release();
  });
}

TEST(RLockTest, StandardLocksNest) {
  RLock lock;
  std::unique_lock<RLock> outer(lock);
  std::unique_lock<RLock> inner(lock);
  EXPECT_EQ(lock.RecursionCount(), 2);
}

TEST(RLockTest, ManyThreadsRecursingCountWithoutLosingUpdates) {
  constexpr int kThreads = 8;
  constexpr int kIncrements = 1000;
  RLock lock;
  int counter = 0;
  Bunch(kThreads, [&](int) {
    for (int i = 0; i < kIncrements; ++i) {
      Guard outer(lock);
      Guard inner(lock);
      ++counter;
    }
  });
  Guard guard(lock);
  EXPECT_EQ(counter, kThreads * kIncrements);
}

void ReleaseUnowned(RLock& lock) ABSL_NO_THREAD_SAFETY_ANALYSIS { lock.Release(); }

TEST(RLockDeathTest, ReleasingUnacquiredIsRuntimeError) {
  testing::UseThreadsafeDeathTests();
  RLock lock;
  EXPECT_DEATH(ReleaseUnowned(lock), "RuntimeError: cannot release un-acquired lock");
}

TEST(RLockDeathTest, ReleasingFromAnotherThreadIsRuntimeError) {
  testing::UseThreadsafeDeathTests();
  EXPECT_DEATH(
      {
        RLock lock;
        Guard guard(lock);
        Bunch(1, [&](int) { ReleaseUnowned(lock); });
      },
      "RuntimeError: cannot release un-acquired lock");
}

}  // namespace
}  // namespace pyconc::sync
