// RLock: the behaviours CPython's lock_tests.py (BaseLockTests, RLockTests)
// checks.

#include "sync/lock/rlock.h"

#include <mutex>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "sync/lock/lock.h"
#include "tests/sync/testing/bunch.h"
#include "tests/sync/testing/unchecked.h"

namespace pyconc::sync {
namespace {

using testing::Bunch;
using testing::ExpectTimesOut;
using testing::UncheckedAcquire;
using testing::UncheckedGuard;
using testing::UncheckedRelease;

TEST(RLockTest, ReacquireCountsRecursion) {
  RLock lock;
  UncheckedAcquire(lock);
  UncheckedAcquire(lock);
  UncheckedAcquire(lock);
  EXPECT_EQ(lock.RecursionCount(), 3);
  UncheckedRelease(lock);
  UncheckedRelease(lock);
  EXPECT_TRUE(lock.Locked());
  EXPECT_EQ(lock.RecursionCount(), 1);
  UncheckedRelease(lock);
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
    EXPECT_FALSE(UncheckedAcquire(lock, /*blocking=*/false));
  });
}

TEST(RLockTest, TimeoutReturnsFalseAndLeavesLockUsable) {
  RLock lock;
  UncheckedAcquire(lock);
  Bunch(1, [&](int) {
    ExpectTimesOut(absl::Milliseconds(20), [&](absl::Duration t) {
      return UncheckedAcquire(lock, true, t);
    });
  });
  UncheckedRelease(lock);
  Bunch(1, [&](int) {
    ASSERT_TRUE(UncheckedAcquire(lock, true, absl::Seconds(60)));
    EXPECT_EQ(lock.RecursionCount(), 1);
    UncheckedRelease(lock);
  });
}

TEST(RLockTest, StandardLocksNest) {
  RLock lock;
  std::unique_lock<RLock> outer(lock);
  std::unique_lock<RLock> inner(lock);
  EXPECT_EQ(lock.RecursionCount(), 2);
}

TEST(RLockTest, ManyThreadsRecursingCountWithoutLosingUpdates) {
  RLock lock;
  EXPECT_EQ(testing::CountUnderLock(lock, 8, 1000, /*depth=*/3), 8 * 1000);
}

TEST(RLockDeathTest, ReleasingUnacquiredIsRuntimeError) {
  testing::UseThreadsafeDeathTests();
  RLock lock;
  EXPECT_DEATH(UncheckedRelease(lock),
               "RuntimeError: cannot release un-acquired lock");
}

TEST(RLockDeathTest, ReleasingFromAnotherThreadIsRuntimeError) {
  testing::UseThreadsafeDeathTests();
  EXPECT_DEATH(
      {
        RLock lock;
        Guard guard(lock);
        Bunch(1, [&](int) { UncheckedRelease(lock); });
      },
      "RuntimeError: cannot release un-acquired lock");
}

}  // namespace
}  // namespace pyconc::sync
