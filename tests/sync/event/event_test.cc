// Event: the behaviours CPython's lock_tests.py (EventTests) checks.

#include "sync/event/event.h"

#include <atomic>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "sync/internal/parking_lot.h"
#include "tests/sync/testing/bunch.h"

namespace pyconc::sync {

namespace internal {
// Lets a test know that threads are blocked in Wait(), without sleeping.
struct TestPeer {
  static void AwaitWaiting(Event& event, int n) {
    ParkingLot::AwaitParked(&event.state_, n);
  }
};
}  // namespace internal

namespace {

using internal::TestPeer;
using testing::Bunch;
using testing::ExpectTimesOut;

TEST(EventTest, IsSet) {
  Event event;
  EXPECT_FALSE(event.IsSet());
  event.Set();
  EXPECT_TRUE(event.IsSet());
  event.Set();
  EXPECT_TRUE(event.IsSet());
  event.Clear();
  EXPECT_FALSE(event.IsSet());
  event.Clear();
  EXPECT_FALSE(event.IsSet());
}

// Every waiter wakes, twice over, after one Set() (Python's _check_notify).
void ExpectSetWakesAll(Event& event) {
  constexpr int kWaiters = 5;
  std::atomic<int> woken{0};
  Bunch bunch(kWaiters, [&](int) {
    EXPECT_TRUE(event.Wait());
    EXPECT_TRUE(event.Wait());
    woken.fetch_add(1);
  });
  TestPeer::AwaitWaiting(event, kWaiters);
  EXPECT_EQ(woken.load(), 0);
  event.Set();
  bunch.Join();
  EXPECT_EQ(woken.load(), kWaiters);
}

TEST(EventTest, SetWakesEveryWaiter) {
  Event event;
  ExpectSetWakesAll(event);
  event.Clear();
  ExpectSetWakesAll(event);
}

TEST(EventTest, WaitTimesOutWhileClearAndSucceedsWhenSet) {
  Event event;
  Bunch(5, [&](int) {
    EXPECT_FALSE(event.Wait(absl::ZeroDuration()));
    ExpectTimesOut(absl::Milliseconds(20),
                   [&](absl::Duration t) { return event.Wait(t); });
  });
  event.Set();
  Bunch(5, [&](int) {
    EXPECT_TRUE(event.Wait(absl::ZeroDuration()));
    EXPECT_TRUE(event.Wait(absl::Milliseconds(20)));
  });
}

TEST(EventTest, SetThenClearStillWakesWaitersWithTrue) {
  constexpr int kWaiters = 5;
  Event event;
  Bunch bunch(kWaiters,
              [&](int) { EXPECT_TRUE(event.Wait(absl::Seconds(300))); });
  TestPeer::AwaitWaiting(event, kWaiters);
  event.Set();
  event.Clear();
}

TEST(EventTest, PingPongBetweenTwoThreads) {
  constexpr int kRounds = 1000;
  Event ping, pong;
  int value = 0;  // Handed back and forth; the events order the accesses.
  Bunch bunch(1, [&](int) {
    for (int i = 0; i < kRounds; ++i) {
      ping.Wait();
      ping.Clear();
      ++value;
      pong.Set();
    }
  });
  for (int i = 0; i < kRounds; ++i) {
    ping.Set();
    pong.Wait();
    pong.Clear();
  }
  bunch.Join();
  EXPECT_EQ(value, kRounds);
}

TEST(EventTest, ManyWaitersOneSet) {
  constexpr int kWaiters = 16;
  Event event;
  std::atomic<int> woken{0};
  {
    Bunch bunch(kWaiters, [&](int) {
      if (event.Wait()) woken.fetch_add(1);
    });
    event.Set();
  }
  EXPECT_EQ(woken.load(), kWaiters);
}

TEST(EventDeathTest, NegativeTimeoutIsValueError) {
  testing::UseThreadsafeDeathTests();
  Event event;
  EXPECT_DEATH(event.Wait(absl::Seconds(-1)),
               "ValueError: timeout value must be");
}

}  // namespace
}  // namespace pyconc::sync
