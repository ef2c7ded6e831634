// Condition: the behaviours CPython's lock_tests.py (ConditionTests) checks.

#include "sync/lock/condition.h"

#include <deque>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sync/lock/lock.h"
#include "sync/lock/rlock.h"
#include "tests/sync/testing/bunch.h"
#include "tests/sync/testing/unchecked.h"

namespace pyconc::sync {
namespace {

using testing::Bunch;
using ::testing::ElementsAre;
using testing::ExpectTimesOut;
using testing::UncheckedAcquire;
using testing::UncheckedGuard;
using testing::UncheckedRelease;

TEST(ConditionTest, DefaultLockIsReentrant) {
  Condition cond;
  UncheckedAcquire(cond);
  UncheckedAcquire(cond);
  UncheckedRelease(cond);
  UncheckedRelease(cond);
}

TEST(ConditionTest, AcquiresTheGivenLock) {
  Lock lock;
  Condition cond(lock);
  UncheckedAcquire(cond);
  EXPECT_FALSE(UncheckedAcquire(lock, /*blocking=*/false));
  UncheckedRelease(cond);
  ASSERT_TRUE(UncheckedAcquire(lock, /*blocking=*/false));
  EXPECT_FALSE(UncheckedAcquire(cond, /*blocking=*/false));
  UncheckedRelease(lock);
  Guard guard(cond);
  EXPECT_TRUE(lock.Locked());
}

TEST(ConditionTest, NotifyWakesExactlyN) {
  constexpr int kWaiters = 5;
  Lock lock;
  Condition cond(lock);
  Condition progress(lock);  // Tells the main thread that the waiters moved on.
  int ready = 0;
  int phase = 0;
  std::vector<int> first_wake, second_wake;
  Bunch bunch(kWaiters, [&](int) {
    Guard guard(lock);
    for (std::vector<int>* wakes : {&first_wake, &second_wake}) {
      ++ready;
      progress.NotifyAll();
      EXPECT_TRUE(cond.Wait());
      wakes->push_back(phase);
      progress.NotifyAll();
    }
  });
  Guard guard(lock);
  progress.WaitFor([&] { return ready == kWaiters; });
  phase = 1;
  cond.Notify(3);
  progress.WaitFor(
      [&] { return first_wake.size() >= 3 && ready == kWaiters + 3; });
  // Three threads now wait a second time, two still a first time.
  phase = 2;
  cond.Notify(5);
  progress.WaitFor([&] { return first_wake.size() + second_wake.size() >= 8; });
  EXPECT_THAT(first_wake, ElementsAre(1, 1, 1, 2, 2));
  EXPECT_THAT(second_wake, ElementsAre(2, 2, 2));
  progress.WaitFor([&] { return ready == 2 * kWaiters; });
  phase = 3;
  cond.NotifyAll();
  progress.WaitFor([&] { return second_wake.size() >= kWaiters; });
  EXPECT_THAT(second_wake, ElementsAre(2, 2, 2, 3, 3));
}

TEST(ConditionTest, WaitTimesOutWithFalse) {
  Condition cond;
  Bunch(5, [&](int) {
    Guard guard(cond);
    ExpectTimesOut(absl::Milliseconds(20),
                   [&](absl::Duration t) { return cond.Wait(t); });
    EXPECT_TRUE(UncheckedAcquire(
        cond, /*blocking=*/false));  // Still owned, recursively.
    UncheckedRelease(cond);
  });
}

TEST(ConditionTest, WaitForReturnsWhenPredicateHolds) {
  Condition cond;
  int state = 0;
  Bunch bunch(1, [&](int) {
    Guard guard(cond);
    EXPECT_TRUE(cond.WaitFor([&] { return state == 4; }));
    EXPECT_EQ(state, 4);
  });
  for (int i = 0; i < 4; ++i) {
    Guard guard(cond);
    ++state;
    cond.Notify();
  }
}

TEST(ConditionTest, WaitForTimesOutWithPredicateValue) {
  Condition cond;
  Guard guard(cond);
  ExpectTimesOut(absl::Milliseconds(20), [&](absl::Duration t) {
    return cond.WaitFor([] { return false; }, t);
  });
}

TEST(ConditionTest, WaitReleasesEveryLevelOfAnRLock) {
  RLock lock;
  Condition cond(lock);
  bool ready = false;
  UncheckedGuard outer(lock);
  UncheckedGuard inner(lock);
  Bunch bunch(1, [&](int) {
    Guard guard(cond);  // Possible only while the main thread waits.
    ready = true;
    cond.NotifyAll();
  });
  EXPECT_TRUE(cond.WaitFor([&] { return ready; }));
  EXPECT_EQ(lock.RecursionCount(), 2);
}

TEST(ConditionTest, ManyProducersAndConsumers) {
  constexpr int kThreads = 8;
  constexpr int kItems = 500;
  Lock lock;
  Condition not_empty(lock);
  std::deque<int> items;
  long long consumed_sum = 0;
  {
    Bunch consumers(kThreads, [&](int) {
      for (int i = 0; i < kItems; ++i) {
        Guard guard(lock);
        not_empty.WaitFor([&] { return !items.empty(); });
        consumed_sum += items.front();
        items.pop_front();
      }
    });
    Bunch producers(kThreads, [&](int) {
      for (int i = 1; i <= kItems; ++i) {
        Guard guard(lock);
        items.push_back(i);
        not_empty.Notify();
      }
    });
  }
  EXPECT_EQ(consumed_sum, 1LL * kThreads * kItems * (kItems + 1) / 2);
  EXPECT_TRUE(items.empty());
}

TEST(ConditionDeathTest, WaitOrNotifyWithoutTheLockIsRuntimeError) {
  testing::UseThreadsafeDeathTests();
  Condition cond;
  EXPECT_DEATH(cond.Wait(), "RuntimeError: cannot wait on un-acquired lock");
  EXPECT_DEATH(cond.Notify(),
               "RuntimeError: cannot notify on un-acquired lock");
  Lock lock;
  Condition over_lock(lock);
  EXPECT_DEATH(over_lock.NotifyAll(),
               "RuntimeError: cannot notify on un-acquired lock");
}

}  // namespace
}  // namespace pyconc::sync
