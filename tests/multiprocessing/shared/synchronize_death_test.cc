// Misuse of the shared primitives aborts, naming the error Python raises.
#include "gtest/gtest.h"
#include "multiprocessing/shared/sharedctypes.h"
#include "multiprocessing/shared/synchronize.h"
#include "tests/sync/testing/unchecked.h"

namespace pyconc::multiprocessing {
namespace {

TEST(SynchronizeDeathTest, ReleasingAnUnlockedLock) {
  Lock lock;
  EXPECT_DEATH(sync::testing::UncheckedRelease(lock),
               "ValueError: semaphore or lock released too many times");
}

TEST(SynchronizeDeathTest, ReleasingABoundedSemaphoreTooOften) {
  EXPECT_DEATH(BoundedSemaphore(2).Release(),
               "ValueError: semaphore or lock released too many times");
}

TEST(SynchronizeDeathTest, ANegativeSemaphore) {
  EXPECT_DEATH(Semaphore(-1), "ValueError: invalid value");
}

TEST(SynchronizeDeathTest, ReleasingAnRLockNotOwned) {
  RLock lock;
  EXPECT_DEATH(sync::testing::UncheckedRelease(lock),
               "AssertionError: attempt to release recursive lock not owned "
               "by thread");
}

TEST(SynchronizeDeathTest, WaitingOnAConditionWithoutItsLock) {
  EXPECT_DEATH(Condition().Wait(),
               "AssertionError: must acquire\\(\\) condition before using "
               "wait\\(\\)");
  EXPECT_DEATH(Condition().Notify(), "AssertionError: lock is not owned");
}

TEST(SynchronizeDeathTest, NegativeTimeouts) {
  EXPECT_DEATH(Event().Wait(absl::Seconds(-1)), "ValueError: timeout value");
  Lock lock;
  EXPECT_DEATH(sync::testing::UncheckedAcquire(lock, true, absl::Seconds(-1)),
               "ValueError: timeout value");
  EXPECT_DEATH(Barrier(0), "ValueError: parties must be >= 1");
}

TEST(SharedCtypesDeathTest, GetLockWithoutALock) {
  EXPECT_DEATH(Value<int>(0, {.lock = false}).GetLock(), "AttributeError");
}

TEST(SharedCtypesDeathTest, AnIndexOutOfRange) {
  EXPECT_DEATH(Array<int>(3).Get(3), "IndexError: invalid index");
}

}  // namespace
}  // namespace pyconc::multiprocessing
