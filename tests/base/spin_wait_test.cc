// SpinWait's budget: how many looks a wait gets before its caller sleeps.
#include "base/spin_wait.h"

#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace pyconc::internal {
namespace {

// Counts the looks a wait grants.
int LooksOf(SpinWait& spin) {
  while (spin.Next()) {
  }
  return spin.looks();
}

bool OneCpu() { return std::thread::hardware_concurrency() <= 1; }

TEST(SpinWaitTest, AWaitGetsItsLooksThenTellsTheCallerToSleep) {
  if (OneCpu()) GTEST_SKIP() << "one CPU: nothing spins";
  SpinWait wait;
  EXPECT_EQ(LooksOf(wait), SpinWait::kLooks);
  EXPECT_FALSE(wait.Next());  // Spent: it stays spent.
  SpinWait mutex_wait(absl::InfiniteFuture(), SpinWait::kMutexLooks);
  EXPECT_EQ(LooksOf(mutex_wait), SpinWait::kMutexLooks);
}

TEST(SpinWaitTest, APassedDeadlineGetsNoLook) {
  SpinWait non_blocking(absl::InfinitePast());
  EXPECT_EQ(LooksOf(non_blocking), 0);
  SpinWait expired(absl::Now() - absl::Seconds(1), SpinWait::kMutexLooks);
  EXPECT_EQ(LooksOf(expired), 0);
}

TEST(SpinWaitTest, ADeadlineThatPassesWhileSpinningEndsTheLooks) {
  if (OneCpu()) GTEST_SKIP() << "one CPU: nothing spins";
  // Looks past the pauses check the clock: a deadline a nanosecond away has
  // passed by the first yield.
  SpinWait soon(absl::Now() + absl::Nanoseconds(1));
  EXPECT_LE(LooksOf(soon), SpinWait::kPauses + 2);
}

}  // namespace
}  // namespace pyconc::internal
