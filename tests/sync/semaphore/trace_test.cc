// Semaphore on the timeline: its permits as a counter, and a slice for each
// wait of a thread that had to block (none for one that did not).

#include "base/trace.h"

#include <vector>

#include "gtest/gtest.h"
#include "sync/internal/parking_lot.h"
#include "sync/lock/lock.h"
#include "sync/semaphore/semaphore.h"
#include "tests/base/trace_testing.h"
#include "tests/sync/testing/unchecked.h"
#include "threading/thread/thread.h"

namespace pyconc::sync {
namespace internal {
struct TestPeer {
  static void AwaitWaiting(Semaphore& semaphore, int n) {
    ParkingLot::AwaitParked(&semaphore.permits_.word_, n);
  }
  static void AwaitWaiting(Lock& lock, int n) {
    ParkingLot::AwaitParked(&lock.permits_.word_, n);
  }
};
}  // namespace internal

namespace {

using internal::TestPeer;
using testing::UncheckedAcquire;
using testing::UncheckedRelease;
using trace::testing::ExpectWellFormed;
using trace::testing::Of;

TEST(SemaphoreTrace, PermitsCounterAndABlockedWait) {
  Semaphore semaphore(2);
  ASSERT_TRUE(trace::Start());
  semaphore.Acquire();
  semaphore.Acquire();
  threading::Thread waiter({.name = "waiter"}, [&] { semaphore.Acquire(); });
  ASSERT_TRUE(waiter.Start().ok());
  TestPeer::AwaitWaiting(semaphore, 1);
  semaphore.Release(2);
  waiter.Join();
  semaphore.Release();
  const std::vector<trace::Event> events = trace::Stop();
  ExpectWellFormed(events);

  std::vector<double> permits;
  for (const trace::Event& counter : Of(events, 'C', "sync")) {
    EXPECT_EQ(counter.name, "semaphore permits");
    permits.push_back(counter.value);
  }
  // Acquire, Acquire, Release(2), the waiter's Acquire, Release: in that
  // order, as the waiter takes its permit after Release(2).
  EXPECT_EQ(permits, (std::vector<double>{1, 0, 2, 1, 2}));

  const std::vector<trace::Event> waits = Of(events, 'X', "sync");
  ASSERT_EQ(waits.size(), 1u) << "only the waiter blocked";
  EXPECT_EQ(waits[0].name, "blocked");
  EXPECT_EQ(waits[0].tid, waiter.native_id());
}

TEST(LockTrace, OnlyABlockedAcquireIsASlice) {
  Lock lock;
  ASSERT_TRUE(trace::Start());
  UncheckedAcquire(lock);                                    // Free: no slice.
  EXPECT_FALSE(UncheckedAcquire(lock, /*blocking=*/false));  // No wait either.
  threading::Thread waiter({.name = "waiter"}, [&] {
    UncheckedAcquire(lock);
    UncheckedRelease(lock);
  });
  ASSERT_TRUE(waiter.Start().ok());
  TestPeer::AwaitWaiting(lock, 1);
  UncheckedRelease(lock);
  waiter.Join();
  const std::vector<trace::Event> events = trace::Stop();
  ExpectWellFormed(events);
  const std::vector<trace::Event> waits = Of(events, 'X', "sync");
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_EQ(waits[0].tid, waiter.native_id());
  // The waiter's body holds its wait.
  const std::vector<trace::Event> bodies = Of(events, 'X', "thread");
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_LE(bodies[0].ts_ns, waits[0].ts_ns);
  EXPECT_LE(waits[0].ts_ns + waits[0].dur_ns,
            bodies[0].ts_ns + bodies[0].dur_ns);
}

}  // namespace
}  // namespace pyconc::sync
