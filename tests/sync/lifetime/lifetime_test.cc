// Destroying a primitive right after use: a thread that takes a Lock, or sees
// an Event set, may delete it at once, while the thread that released or set
// it is still returning (absl::Mutex and absl::Notification allow the same).
// AddressSanitizer (--config=asan) reports any access to the freed object.
//
// Each test runs rounds of both kinds: in even rounds the releasing thread
// waits until the taker is parked (asleep in the ParkingLot), so it wakes a
// sleeper; in odd ones it releases at once, usually while the taker spins.

#include <memory>

#include "gtest/gtest.h"
#include "sync/barrier/barrier.h"
#include "sync/event/event.h"
#include "sync/internal/parking_lot.h"
#include "sync/lock/condition.h"
#include "sync/lock/lock.h"
#include "sync/lock/rlock.h"
#include "sync/semaphore/semaphore.h"
#include "tests/sync/testing/bunch.h"
#include "tests/sync/testing/unchecked.h"

namespace pyconc::sync {

namespace internal {
// Lets a test wait until a thread is parked on a primitive, without sleeping.
struct TestPeer {
  static void AwaitParked(const Permits& permits) {
    ParkingLot::AwaitParked(&permits.word_, 1);
  }
  static void AwaitParked(const Lock& lock) { AwaitParked(lock.permits_); }
  static void AwaitParked(const Semaphore& semaphore) {
    AwaitParked(semaphore.permits_);
  }
  static void AwaitParked(const RLock& rlock) {
    ParkingLot::AwaitParked(&rlock.owner_, 1);
  }
  static void AwaitParked(const Event& event) {
    ParkingLot::AwaitParked(&event.state_, 1);
  }
};
}  // namespace internal

namespace {

using internal::TestPeer;
using testing::Bunch;
using testing::UncheckedAcquire;
using testing::UncheckedRelease;

constexpr int kRounds = 200;

// Whether the releasing thread of `round` waits for the taker to park.
bool WakesASleeper(int round) { return round % 2 == 0; }

TEST(LifetimeTest, LockDeletedByTheThreadThatTakesItFromItsReleaser) {
  for (int round = 0; round < kRounds; ++round) {
    auto* lock = new Lock;
    UncheckedAcquire(*lock);
    // Another thread releases it (Python allows that for a Lock) while this
    // one waits for it, then deletes it at once.
    Bunch releaser(1, [lock, round](int) {
      if (WakesASleeper(round)) TestPeer::AwaitParked(*lock);
      UncheckedRelease(*lock);
    });
    UncheckedAcquire(*lock);
    delete lock;
  }
}

TEST(LifetimeTest, RLockDeletedByItsNextOwner) {
  for (int round = 0; round < kRounds; ++round) {
    auto* rlock = new RLock;
    Event held;
    Bunch owner(1, [&, round](int) {
      UncheckedAcquire(*rlock);
      held.Set();
      if (WakesASleeper(round)) TestPeer::AwaitParked(*rlock);
      UncheckedRelease(*rlock);
    });
    held.Wait();
    UncheckedAcquire(*rlock);
    UncheckedRelease(*rlock);
    delete rlock;
  }
}

TEST(LifetimeTest, SemaphoresDeletedByTheThreadThatTakesAPermit) {
  for (int round = 0; round < kRounds; ++round) {
    auto* semaphore = new Semaphore(0);
    Bunch releaser(1, [semaphore, round](int) {
      if (WakesASleeper(round)) TestPeer::AwaitParked(*semaphore);
      semaphore->Release();
    });
    semaphore->Acquire();
    delete semaphore;

    auto* bounded = new BoundedSemaphore(1);
    bounded->Acquire();
    Bunch bounded_releaser(1, [bounded, round](int) {
      if (WakesASleeper(round)) TestPeer::AwaitParked(*bounded);
      bounded->Release();
    });
    bounded->Acquire();
    delete bounded;
  }
}

TEST(LifetimeTest, EventDeletedByAWaiterOnceSet) {
  for (int round = 0; round < kRounds; ++round) {
    auto* event = new Event;
    Bunch setter(1, [event, round](int) {
      if (WakesASleeper(round)) TestPeer::AwaitParked(*event);
      event->Set();
    });
    ASSERT_TRUE(event->Wait());
    delete event;
  }
}

TEST(LifetimeTest, EventDeletedAfterIsSetSaysSet) {
  for (int round = 0; round < kRounds; ++round) {
    auto* event = new Event;
    Bunch setter(1, [event](int) { event->Set(); });
    while (!event->IsSet()) {
    }
    delete event;
  }
}

TEST(LifetimeTest, ConditionDeletedByTheWaiterItWoke) {
  for (int round = 0; round < kRounds; ++round) {
    auto* lock = new Lock;
    auto* condition = new Condition(*lock);
    bool ready = false;
    Bunch notifier(1, [&](int) {
      Guard guard(*condition);
      ready = true;
      condition->Notify();
    });
    {
      Guard guard(*condition);
      while (!ready) condition->Wait();
    }
    delete condition;
    delete lock;
  }
}

TEST(LifetimeTest, BarrierDeletedByAPartyThatPassedIt) {
  for (int round = 0; round < kRounds; ++round) {
    auto* barrier = new Barrier(3);
    Bunch parties(2, [barrier](int) { ASSERT_TRUE(barrier->Wait().ok()); });
    ASSERT_TRUE(barrier->Wait().ok());
    delete barrier;  // The other two may still be leaving Wait().
  }
}

}  // namespace
}  // namespace pyconc::sync
