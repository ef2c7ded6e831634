// Timer: fires once after its interval, or never when cancelled in time.

#include "sync/timer/timer.h"

#include <atomic>
#include <deque>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/sync/testing/bunch.h"

namespace pyconc::sync {
namespace {

// Long enough that a test which waited for it would time out.
constexpr absl::Duration kNever = absl::Hours(1);

TEST(TimerTest, FiresOnceAfterItsInterval) {
  const absl::Duration interval = absl::Milliseconds(20);
  std::atomic<int> calls{0};
  Timer timer(interval, [&] { calls.fetch_add(1); });
  const absl::Time start = absl::Now();
  EXPECT_TRUE(timer.Start().ok());
  timer.Join();
  EXPECT_GE(absl::Now() - start, interval);
  EXPECT_EQ(calls.load(), 1);
}

TEST(TimerTest, PassesArguments) {
  std::string seen;
  Timer timer(
      absl::ZeroDuration(),
      [&](int n, const std::string& s) { seen = s + std::to_string(n); }, 7,
      std::string("x"));
  EXPECT_TRUE(timer.Start().ok());
  timer.Join();
  EXPECT_EQ(seen, "x7");
}

TEST(TimerTest, CancelStopsAWaitingTimerAtOnce) {
  std::atomic<int> calls{0};
  Timer timer(kNever, [&] { calls.fetch_add(1); });
  EXPECT_TRUE(timer.Start().ok());
  timer.Cancel();
  timer.Join();
  EXPECT_EQ(calls.load(), 0);
}

TEST(TimerTest, CancelBeforeStart) {
  std::atomic<int> calls{0};
  Timer timer(absl::ZeroDuration(), [&] { calls.fetch_add(1); });
  timer.Cancel();
  EXPECT_TRUE(timer.Start().ok());
  timer.Join();
  EXPECT_EQ(calls.load(), 0);
}

TEST(TimerTest, DestroyingAStartedTimerCancelsIt) {
  std::atomic<int> calls{0};
  {
    Timer timer(kNever, [&] { calls.fetch_add(1); });
    EXPECT_TRUE(timer.Start().ok());
  }
  EXPECT_EQ(calls.load(), 0);
}

TEST(TimerTest, ManyTimersFireConcurrently) {
  constexpr int kTimers = 16;
  std::atomic<int> calls{0};
  std::deque<Timer> timers;
  for (int i = 0; i < kTimers; ++i) {
    timers.emplace_back(absl::Milliseconds(i % 4), [&] { calls.fetch_add(1); });
    EXPECT_TRUE(timers.back().Start().ok());
  }
  for (Timer& timer : timers) timer.Join();
  EXPECT_EQ(calls.load(), kTimers);
}

TEST(TimerDeathTest, NegativeIntervalIsValueError) {
  testing::UseThreadsafeDeathTests();
  EXPECT_DEATH(Timer(absl::Seconds(-1), [] {}), "ValueError");
}

}  // namespace
}  // namespace pyconc::sync
