// ParkingLot: the waiting under Lock, Semaphore and Event. A lost wake-up hangs
// these tests; a miscounted sleeper hangs AwaitSleepers().

#include "sync/internal/parking_lot.h"

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/sync/testing/bunch.h"

namespace pyconc::sync::internal {
namespace {

using testing::Bunch;
using testing::ExpectTimesOut;

TEST(ParkingLotTest, ReadyConditionReturnsAtOnce) {
  ParkingLot lot;
  auto always = [] { return true; };
  EXPECT_TRUE(lot.WaitUntil(always, absl::InfiniteFuture()));
  EXPECT_TRUE(lot.WaitUntil(always, absl::InfinitePast()));
}

TEST(ParkingLotTest, DeadlinePassesWithConditionFalse) {
  ParkingLot lot;
  auto never = [] { return false; };
  EXPECT_FALSE(lot.WaitUntil(never, absl::InfinitePast()));
  ExpectTimesOut(absl::Milliseconds(20), [&](absl::Duration timeout) {
    return lot.WaitUntil(never, absl::Now() + timeout);
  });
}

TEST(ParkingLotTest, WakeAllWakesEverySleeper) {
  constexpr int kSleepers = 6;
  ParkingLot lot;
  std::atomic<bool> go{false};
  std::atomic<int> woken{0};
  auto ready = [&] { return go.load(std::memory_order_seq_cst); };
  Bunch bunch(kSleepers, [&](int) {
    EXPECT_TRUE(lot.WaitUntil(ready, absl::InfiniteFuture()));
    woken.fetch_add(1);
  });
  lot.AwaitSleepers(kSleepers);
  EXPECT_EQ(woken.load(), 0);
  go.store(true, std::memory_order_seq_cst);
  lot.WakeAll();
  bunch.Join();
  EXPECT_EQ(woken.load(), kSleepers);
}

// Rounds in which every waiter is asleep before the generation moves on: each
// wake-up must reach every sleeper, and each sleeper must be counted in again
// when it goes back to sleep, or the next round's AwaitSleepers() hangs.
TEST(ParkingLotTest, SleepersAreCountedOutOnWakeAndBackInOnSleep) {
  constexpr int kSleepers = 4;
  constexpr int64_t kRounds = 200;
  ParkingLot lot;
  std::atomic<int64_t> generation{0};
  Bunch bunch(kSleepers, [&](int) {
    for (int64_t seen = 0; seen < kRounds; ++seen) {
      auto moved_on = [&] {
        return generation.load(std::memory_order_seq_cst) > seen;
      };
      ASSERT_TRUE(lot.WaitUntil(moved_on, absl::InfiniteFuture()));
    }
  });
  for (int64_t round = 0; round < kRounds; ++round) {
    lot.AwaitSleepers(kSleepers);
    generation.fetch_add(1, std::memory_order_seq_cst);
    lot.WakeAll();
  }
}

// A condition that turns true and at once false again: sleepers may return
// (their last look said true) or sleep on, but none is lost, and once it
// stays true every one of them returns.
TEST(ParkingLotTest, ConditionFlickeringDoesNotStrandSleepers) {
  constexpr int kSleepers = 4;
  ParkingLot lot;
  std::atomic<bool> open{false};
  std::atomic<bool> done{false};
  auto ready = [&] { return open.load(std::memory_order_seq_cst); };
  Bunch bunch(kSleepers, [&](int) {
    while (!done.load(std::memory_order_seq_cst)) {
      lot.WaitUntil(ready, absl::InfiniteFuture());
    }
  });
  for (int flicker = 0; flicker < 1000; ++flicker) {
    open.store(true, std::memory_order_seq_cst);
    lot.WakeAll();
    open.store(false, std::memory_order_seq_cst);
  }
  done.store(true, std::memory_order_seq_cst);
  open.store(true, std::memory_order_seq_cst);
  lot.WakeAll();
}

}  // namespace
}  // namespace pyconc::sync::internal
