// Lock, RLock, Semaphore and BoundedSemaphore while the process has one thread,
// where they change their word with a plain load and store
// (sync/internal/single_threaded.h), and across the moment a second thread
// starts. The behaviours are those of CPython's lock_tests.py (BaseLockTests:
// test_acquire_contended, test_timeout; RLockTests: test_reacquire;
// BaseSemaphoreTests: test_acquire, test_release_unacquired).
//
// The tests run in this file's order (gtest's default): every test but the
// last starts no thread and first checks that the process still has one.

#include <atomic>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "sync/internal/parking_lot.h"
#include "sync/internal/single_threaded.h"
#include "sync/lock/lock.h"
#include "sync/lock/rlock.h"
#include "sync/semaphore/semaphore.h"
#include "tests/sync/testing/unchecked.h"
#include "threading/thread/thread.h"

namespace pyconc::sync {
namespace internal {
struct TestPeer {
  static void AwaitParked(const Lock& lock) {
    ParkingLot::AwaitParked(&lock.permits_.word_, 1);
  }
};
}  // namespace internal

namespace {

using testing::UncheckedAcquire;
using testing::UncheckedRelease;

TEST(SingleThreadTest, LockTakesTheShortPathWithPythonsAnswers) {
  ASSERT_TRUE(internal::SingleThreaded());
  Lock lock;
  EXPECT_TRUE(UncheckedAcquire(lock, /*blocking=*/false));
  EXPECT_TRUE(lock.Locked());
  EXPECT_FALSE(UncheckedAcquire(lock, /*blocking=*/false));
  // A timed wait that nobody can end times out and leaves the lock held.
  EXPECT_FALSE(UncheckedAcquire(lock, true, absl::Milliseconds(1)));
  EXPECT_TRUE(lock.Locked());
  UncheckedRelease(lock);
  EXPECT_FALSE(lock.Locked());
  UncheckedAcquire(lock);
  EXPECT_TRUE(lock.Locked());
  UncheckedRelease(lock);
  EXPECT_FALSE(lock.Locked());
}

TEST(SingleThreadTest, RLockCountsLevels) {
  ASSERT_TRUE(internal::SingleThreaded());
  RLock rlock;
  UncheckedAcquire(rlock);
  EXPECT_TRUE(UncheckedAcquire(rlock, /*blocking=*/false));
  EXPECT_EQ(rlock.RecursionCount(), 2);
  UncheckedRelease(rlock);
  EXPECT_TRUE(rlock.Locked());
  UncheckedRelease(rlock);
  EXPECT_FALSE(rlock.Locked());
  EXPECT_EQ(rlock.RecursionCount(), 0);
}

TEST(SingleThreadTest, SemaphoresCountPermits) {
  ASSERT_TRUE(internal::SingleThreaded());
  Semaphore semaphore(2);
  EXPECT_TRUE(semaphore.Acquire(/*blocking=*/false));
  EXPECT_TRUE(semaphore.Acquire(/*blocking=*/false));
  EXPECT_FALSE(semaphore.Acquire(/*blocking=*/false));
  EXPECT_FALSE(semaphore.Acquire(true, absl::Milliseconds(1)));
  semaphore.Release(3);
  EXPECT_EQ(semaphore.value(), 3);

  BoundedSemaphore bounded(1);
  EXPECT_TRUE(bounded.Acquire(/*blocking=*/false));
  bounded.Release();
  EXPECT_EQ(bounded.value(), 1);
}

TEST(SingleThreadDeathTest, ReleasingTooOftenIsStillMisuse) {
  ASSERT_TRUE(internal::SingleThreaded());
  // The "fast" style forks: the child is single-threaded too.
  GTEST_FLAG_SET(death_test_style, "fast");
  Lock lock;
  EXPECT_DEATH(UncheckedRelease(lock), "RuntimeError: release unlocked lock");
  BoundedSemaphore bounded(1);
  EXPECT_DEATH(bounded.Release(), "ValueError: Semaphore released too many");
}

// Last: it starts a thread, after which the process never has one again.
TEST(SingleThreadTest, ALockTakenAloneIsHandedToAThreadStartedLater) {
  ASSERT_TRUE(internal::SingleThreaded());
  Lock lock;
  RLock rlock;
  UncheckedAcquire(lock);
  UncheckedAcquire(rlock);
  std::atomic<bool> took_rlock{true};
  threading::Thread waiter([&] {
    took_rlock = UncheckedAcquire(rlock, /*blocking=*/false);
    UncheckedAcquire(lock);  // Parks until the main thread releases.
    UncheckedRelease(lock);
  });
  ASSERT_TRUE(waiter.Start().ok());
  EXPECT_FALSE(internal::SingleThreaded());
  internal::TestPeer::AwaitParked(lock);
  UncheckedRelease(lock);
  waiter.Join();
  EXPECT_FALSE(took_rlock);
  EXPECT_FALSE(lock.Locked());
  UncheckedRelease(rlock);
  EXPECT_FALSE(rlock.Locked());
}

}  // namespace
}  // namespace pyconc::sync
