// Barrier: the behaviours CPython's lock_tests.py (BarrierTests) checks.

#include "sync/barrier/barrier.h"

#include <atomic>
#include <set>
#include <stdexcept>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "sync/lock/lock.h"
#include "tests/sync/testing/bunch.h"

namespace pyconc::sync {

namespace internal {
// Lets a test wait until threads are blocked in Wait(), without sleeping.
struct TestPeer {
  static void AwaitWaiting(const Barrier& barrier, int n) {
    absl::MutexLock lock(&barrier.mu_);
    auto enough = [&] {
      barrier.mu_.AssertReaderHeld();
      return barrier.state_ == Barrier::State::kFilling && barrier.count_ >= n;
    };
    barrier.mu_.Await(absl::Condition(&enough));
  }
};
}  // namespace internal

namespace {

using internal::TestPeer;
using testing::Bunch;

constexpr int kParties = 5;

bool IsBroken(const absl::Status& status) { return absl::IsAborted(status); }

// Every thread sees all the others' arrivals once it passes, round after round.
void ExpectRounds(int threads, int rounds) {
  Barrier barrier(threads);
  Lock lock;
  std::vector<int> arrived(rounds, 0);
  Bunch(threads, [&](int) {
    for (int round = 0; round < rounds; ++round) {
      {
        Guard guard(lock);
        ++arrived[round];
      }
      ASSERT_TRUE(barrier.Wait().ok());
      Guard guard(lock);
      EXPECT_EQ(arrived[round], threads);
    }
  });
  EXPECT_EQ(barrier.n_waiting(), 0);
  EXPECT_FALSE(barrier.broken());
}

TEST(BarrierTest, OneRound) { ExpectRounds(kParties, 1); }
TEST(BarrierTest, TenRounds) { ExpectRounds(kParties, 10); }
TEST(BarrierTest, ManyThreadsManyRounds) { ExpectRounds(12, 50); }

TEST(BarrierTest, IndicesAreDistinct) {
  Barrier barrier(kParties);
  Lock lock;
  std::set<int> indices;
  Bunch(kParties, [&](int) {
    absl::StatusOr<int> index = barrier.Wait();
    ASSERT_TRUE(index.ok());
    Guard guard(lock);
    indices.insert(*index);
  });
  EXPECT_EQ(indices, (std::set<int>{0, 1, 2, 3, 4}));
}

TEST(BarrierTest, ActionRunsOncePerRoundBeforeAnyoneLeaves) {
  std::atomic<int> actions{0};
  Barrier barrier(kParties, {.action = [&] { actions.fetch_add(1); }});
  Bunch(kParties, [&](int) {
    for (int round = 1; round <= 3; ++round) {
      ASSERT_TRUE(barrier.Wait().ok());
      EXPECT_GE(actions.load(), round);
    }
  });
  EXPECT_EQ(actions.load(), 3);
}

TEST(BarrierTest, AbortBreaksEveryWaiter) {
  Barrier barrier(kParties);
  std::atomic<int> passed{0}, broken{0};
  Bunch(kParties, [&](int) {
    absl::StatusOr<int> index = barrier.Wait();
    ASSERT_TRUE(index.ok());
    if (*index == kParties / 2) {
      barrier.Abort();
    } else if (absl::Status status = barrier.Wait().status();
               IsBroken(status)) {
      broken.fetch_add(1);
    } else {
      passed.fetch_add(1);
    }
  });
  EXPECT_EQ(passed.load(), 0);
  EXPECT_EQ(broken.load(), kParties - 1);
  EXPECT_TRUE(barrier.broken());
  EXPECT_TRUE(IsBroken(barrier.Wait().status()));  // Stays broken.
}

TEST(BarrierTest, ResetBreaksWaitersThenWorksAgain) {
  Barrier barrier(kParties);
  std::atomic<int> passed{0}, broken{0}, passed_again{0};
  Bunch(kParties, [&](int) {
    absl::StatusOr<int> index = barrier.Wait();
    ASSERT_TRUE(index.ok());
    if (*index == kParties / 2) {
      TestPeer::AwaitWaiting(barrier, kParties - 1);
      barrier.Reset();
    } else if (IsBroken(barrier.Wait().status())) {
      broken.fetch_add(1);
    } else {
      passed.fetch_add(1);
    }
    if (barrier.Wait().ok()) passed_again.fetch_add(1);
  });
  EXPECT_EQ(passed.load(), 0);
  EXPECT_EQ(broken.load(), kParties - 1);
  EXPECT_EQ(passed_again.load(), kParties);
}

TEST(BarrierTest, AbortThenResetMakesItUsable) {
  Barrier barrier(kParties);
  Barrier meeting(kParties);
  std::atomic<int> passed{0}, broken{0}, passed_again{0};
  Bunch(kParties, [&](int) {
    absl::StatusOr<int> index = barrier.Wait();
    ASSERT_TRUE(index.ok());
    if (*index == kParties / 2) {
      barrier.Abort();
    } else if (IsBroken(barrier.Wait().status())) {
      broken.fetch_add(1);
    } else {
      passed.fetch_add(1);
    }
    // Everyone has left `barrier` before the reset, and nobody enters before
    // it.
    if (*meeting.Wait() == kParties / 2) barrier.Reset();
    ASSERT_TRUE(meeting.Wait().ok());
    if (barrier.Wait().ok()) passed_again.fetch_add(1);
  });
  EXPECT_EQ(passed.load(), 0);
  EXPECT_EQ(broken.load(), kParties - 1);
  EXPECT_EQ(passed_again.load(), kParties);
}

TEST(BarrierTest, TimeoutBreaksItForEveryWaiter) {
  Barrier barrier(kParties);
  const absl::Duration timeout = absl::Milliseconds(20);
  // One party never comes: the first wait to time out breaks the barrier for
  // all.
  Bunch(kParties - 1,
        [&](int) { EXPECT_TRUE(IsBroken(barrier.Wait(timeout).status())); });
  EXPECT_TRUE(barrier.broken());
}

TEST(BarrierTest, DefaultTimeoutApplies) {
  const absl::Duration timeout = absl::Milliseconds(20);
  Barrier barrier(2, {.timeout = timeout});
  const absl::Time start = absl::Now();
  EXPECT_TRUE(IsBroken(barrier.Wait().status()));
  EXPECT_GE(absl::Now() - start, timeout);
}

TEST(BarrierTest, SinglePartyPassesAlone) {
  Barrier barrier(1);
  EXPECT_EQ(*barrier.Wait(), 0);
  EXPECT_EQ(*barrier.Wait(), 0);
}

TEST(BarrierTest, ThrowingActionBreaksTheBarrier) {
  Barrier barrier(kParties,
                  {.action = [] { throw std::runtime_error("boom"); }});
  std::atomic<int> thrown{0}, broken{0};
  Bunch(kParties, [&](int) {
    try {
      if (IsBroken(barrier.Wait().status())) broken.fetch_add(1);
    } catch (const std::runtime_error&) {
      thrown.fetch_add(1);
    }
  });
  EXPECT_EQ(thrown.load(), 1);
  EXPECT_EQ(broken.load(), kParties - 1);
  EXPECT_TRUE(barrier.broken());
}

TEST(BarrierDeathTest, NoPartiesIsValueError) {
  testing::UseThreadsafeDeathTests();
  EXPECT_DEATH(Barrier(0), "ValueError: parties must be >= 1");
}

}  // namespace
}  // namespace pyconc::sync
