// Lock: the behaviours CPython's lock_tests.py (BaseLockTests, LockTests)
// checks.

#include "sync/lock/lock.h"

#include <chrono>
#include <mutex>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "sync/event/event.h"
#include "tests/sync/testing/bunch.h"
#include "tests/sync/testing/unchecked.h"
#include "threading/thread/thread.h"

namespace pyconc::sync {
namespace {

using testing::Bunch;
using testing::ExpectTimesOut;
using testing::UncheckedAcquire;
using testing::UncheckedGuard;
using testing::UncheckedRelease;

TEST(LockTest, AcquireRelease) {
  Lock lock;
  EXPECT_FALSE(lock.Locked());
  UncheckedAcquire(lock);
  EXPECT_TRUE(lock.Locked());
  UncheckedRelease(lock);
  EXPECT_FALSE(lock.Locked());
}

TEST(LockTest, TryAcquire) {
  Lock lock;
  ASSERT_TRUE(UncheckedAcquire(lock, /*blocking=*/false));
  EXPECT_FALSE(UncheckedAcquire(lock, /*blocking=*/false));
  UncheckedRelease(lock);
}

TEST(LockTest, TryAcquireContended) {
  Lock lock;
  UncheckedAcquire(lock);
  bool acquired = true;
  Bunch(1, [&](int) { acquired = lock.try_lock(); });
  EXPECT_FALSE(acquired);
  UncheckedRelease(lock);
}

TEST(LockTest, ContendedAcquireWaitsForRelease) {
  Lock lock;
  Lock counter_lock;
  int done = 0;
  UncheckedAcquire(lock);
  {
    Bunch bunch(5, [&](int) {
      Guard guard(lock);
      Guard counter_guard(counter_lock);
      ++done;
    });
    {
      Guard counter_guard(counter_lock);
      EXPECT_EQ(done, 0);  // Nobody can pass while this thread holds `lock`.
    }
    UncheckedRelease(lock);
  }
  EXPECT_EQ(done, 5);
}

TEST(LockTest, TimeoutReturnsFalseAndLeavesLockUsable) {
  Lock lock;
  UncheckedAcquire(lock);
  Bunch(1, [&](int) {
    ExpectTimesOut(absl::Milliseconds(20), [&](absl::Duration t) {
      return UncheckedAcquire(lock, true, t);
    });
    EXPECT_FALSE(UncheckedAcquire(lock, true, absl::ZeroDuration()));
  });
  UncheckedRelease(lock);
  Bunch(1, [&](int) {
    ASSERT_TRUE(UncheckedAcquire(lock, true, absl::Seconds(60)));
    UncheckedRelease(lock);
  });
  EXPECT_FALSE(lock.Locked());
}

TEST(LockTest, ReleasedByAnotherThread) {
  Lock lock;
  Event first_acquired;
  threading::Thread thread([&] {
    UncheckedAcquire(lock);
    first_acquired.Set();
    UncheckedAcquire(lock);  // Waits until the main thread releases it.
  });
  EXPECT_TRUE(thread.Start().ok());
  first_acquired.Wait();
  UncheckedRelease(lock);
  thread.Join();
  EXPECT_TRUE(lock.Locked());
  UncheckedRelease(lock);
  EXPECT_FALSE(lock.Locked());
}

TEST(LockTest, WorksWithStandardLocks) {
  Lock a, b;
  {
    std::scoped_lock both(a, b);
    EXPECT_TRUE(a.Locked() && b.Locked());
    std::unique_lock<Lock> again(a, std::defer_lock);
    EXPECT_FALSE(again.try_lock_for(std::chrono::milliseconds(1)));
    EXPECT_FALSE(again.try_lock_until(std::chrono::steady_clock::now()));
  }
  EXPECT_FALSE(a.Locked() || b.Locked());
}

TEST(LockTest, GuardReleasesAtScopeEnd) {
  Lock lock;
  {
    Guard guard(lock);
    EXPECT_TRUE(lock.Locked());
  }
  EXPECT_FALSE(lock.Locked());
}

TEST(LockTest, ManyThreadsCountWithoutLosingUpdates) {
  Lock lock;
  EXPECT_EQ(testing::CountUnderLock(lock, 16, 2000, /*depth=*/1), 16 * 2000);
}

TEST(LockDeathTest, ReleasingUnlockedLockIsRuntimeError) {
  testing::UseThreadsafeDeathTests();
  Lock lock;
  EXPECT_DEATH(UncheckedRelease(lock), "RuntimeError: release unlocked lock");
}

TEST(LockDeathTest, BadTimeoutsAreValueErrors) {
  testing::UseThreadsafeDeathTests();
  Lock lock;
  EXPECT_DEATH(UncheckedAcquire(lock, true, absl::Seconds(-1)),
               "ValueError: timeout value must be a non-negative number");
  EXPECT_DEATH(UncheckedAcquire(lock, false, absl::Seconds(1)),
               "ValueError: can't specify a timeout for a non-blocking call");
}

}  // namespace
}  // namespace pyconc::sync
