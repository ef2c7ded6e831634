// ParkingLot: the waiting under Lock, Semaphore and Event. A lost wake-up hangs
// these tests; a miscounted sleeper hangs AwaitParked().

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

// A word as the primitives keep it: a value above ParkingLot's sleeper bit.
class Word {
 public:
  static constexpr uint64_t kSleepers = 1;

  uint64_t value() const { return word_.load(std::memory_order_seq_cst) >> 1; }

  // Publishes `value` as a primitive does: one read-modify-write that clears
  // the sleeper bit, then a wake-up when it was set.
  void Publish(uint64_t value) {
    if ((word_.exchange(value << 1, std::memory_order_seq_cst) & kSleepers) !=
        0) {
      ParkingLot::WakeAll(&word_);
    }
  }

  template <typename Ready>
  bool WaitUntil(const Ready& ready, absl::Time deadline) {
    return ParkingLot::WaitUntil(word_, kSleepers, ready, deadline);
  }

  void AwaitParked(int n) { ParkingLot::AwaitParked(&word_, n); }

 private:
  std::atomic<uint64_t> word_{0};
};

TEST(ParkingLotTest, ReadyConditionReturnsAtOnce) {
  Word word;
  auto always = [] { return true; };
  EXPECT_TRUE(word.WaitUntil(always, absl::InfiniteFuture()));
  EXPECT_TRUE(word.WaitUntil(always, absl::InfinitePast()));
}

TEST(ParkingLotTest, DeadlinePassesWithConditionFalse) {
  Word word;
  auto never = [] { return false; };
  EXPECT_FALSE(word.WaitUntil(never, absl::InfinitePast()));
  ExpectTimesOut(absl::Milliseconds(20), [&](absl::Duration timeout) {
    return word.WaitUntil(never, absl::Now() + timeout);
  });
}

TEST(ParkingLotTest, WakeAllWakesEverySleeper) {
  constexpr int kSleepers = 6;
  Word word;
  std::atomic<int> woken{0};
  auto ready = [&] { return word.value() == 1; };
  Bunch bunch(kSleepers, [&](int) {
    EXPECT_TRUE(word.WaitUntil(ready, absl::InfiniteFuture()));
    woken.fetch_add(1);
  });
  word.AwaitParked(kSleepers);
  EXPECT_EQ(woken.load(), 0);
  word.Publish(1);
  bunch.Join();
  EXPECT_EQ(woken.load(), kSleepers);
}

// Only the threads parked on one word wake when it changes.
TEST(ParkingLotTest, WakeAllWakesOnlyTheWordsSleepers) {
  Word word;
  Word other;
  auto word_ready = [&] { return word.value() == 1; };
  auto other_ready = [&] { return other.value() == 1; };
  Bunch on_word(1, [&](int) {
    EXPECT_TRUE(word.WaitUntil(word_ready, absl::InfiniteFuture()));
  });
  Bunch on_other(1, [&](int) {
    EXPECT_TRUE(other.WaitUntil(other_ready, absl::InfiniteFuture()));
  });
  word.AwaitParked(1);
  other.AwaitParked(1);
  word.Publish(1);
  on_word.Join();
  other.AwaitParked(1);  // Still parked.
  other.Publish(1);
}

// Rounds in which every waiter is parked before the generation moves on: each
// wake-up must reach every sleeper, and each sleeper must park again, or the
// next round's AwaitParked() hangs.
TEST(ParkingLotTest, SleepersAreWokenAndParkAgain) {
  constexpr int kSleepers = 4;
  constexpr uint64_t kRounds = 200;
  Word generation;
  Bunch bunch(kSleepers, [&](int) {
    for (uint64_t seen = 0; seen < kRounds; ++seen) {
      auto moved_on = [&] { return generation.value() > seen; };
      ASSERT_TRUE(generation.WaitUntil(moved_on, absl::InfiniteFuture()));
    }
  });
  for (uint64_t round = 0; round < kRounds; ++round) {
    generation.AwaitParked(kSleepers);
    generation.Publish(round + 1);
  }
}

// A condition that turns true and at once false again: sleepers may return
// (their last look said true) or sleep on, but none is lost, and once it
// stays true every one of them returns.
TEST(ParkingLotTest, ConditionFlickeringDoesNotStrandSleepers) {
  constexpr int kSleepers = 4;
  Word open;
  std::atomic<bool> done{false};
  auto ready = [&] { return open.value() == 1; };
  Bunch bunch(kSleepers, [&](int) {
    while (!done.load(std::memory_order_seq_cst)) {
      open.WaitUntil(ready, absl::InfiniteFuture());
    }
  });
  for (int flicker = 0; flicker < 1000; ++flicker) {
    open.Publish(1);
    open.Publish(0);
  }
  done.store(true, std::memory_order_seq_cst);
  open.Publish(1);
}

}  // namespace
}  // namespace pyconc::sync::internal
