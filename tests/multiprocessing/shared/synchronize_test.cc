// Lock, RLock, Semaphore, Event, Condition and Barrier across processes:
// CPython's Lib/test/_test_multiprocessing.py _TestLock, _TestSemaphore,
// _TestEvent, _TestCondition and _TestBarrier, on pyconc's fork server. Every
// ordering comes from the primitives under test or from Events and
// Semaphores, never from sleeps.
#include "multiprocessing/shared/synchronize.h"

#include <sched.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <set>

#include "base/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "multiprocessing/process/process.h"
#include "multiprocessing/process/queue.h"
#include "multiprocessing/shared/sharedctypes.h"
#include "sync/lock/lock.h"
#include "tests/multiprocessing/process/no_orphans.h"
#include "tests/sync/testing/unchecked.h"
#include "threading/thread/thread.h"

namespace pyconc::multiprocessing {
namespace {

using ::pyconc::sync::testing::UncheckedAcquire;
using ::pyconc::sync::testing::UncheckedRelease;
using SynchronizeTest = testing::NoOrphansTest;

constexpr absl::Duration kShort = absl::Milliseconds(20);

// Joins `p` and expects exit code 0.
void JoinOk(Process& p) {
  p.Join();
  EXPECT_EQ(p.ExitCode(), 0) << p.name();
}

// Leaves with exit code 3 unless `ok`: how a child reports a failed check.
void Check(bool ok) {
  if (!ok) std::exit(3);
}

// --- Lock -----------------------------------------------------------------

TEST_F(SynchronizeTest, LockAcquireReleaseAndTimeouts) {
  Lock lock;
  EXPECT_FALSE(lock.Locked());
  EXPECT_TRUE(UncheckedAcquire(lock, false));
  EXPECT_TRUE(lock.Locked());
  EXPECT_FALSE(UncheckedAcquire(lock, false));
  EXPECT_FALSE(
      UncheckedAcquire(lock, true, kShort));  // Python: acquire(timeout=...).
  UncheckedRelease(lock);
  EXPECT_TRUE(UncheckedAcquire(lock, true, kShort));
  UncheckedRelease(lock);
  {
    std::scoped_lock standard(lock);  // The standard names work too.
    EXPECT_TRUE(lock.Locked());
  }
  EXPECT_FALSE(lock.Locked());
}

// The read-yield-write that loses updates unless `lock` is held around it.
void IncrementUnderLock(Value<int64_t> counter, Lock lock, int n) {
  for (int i = 0; i < n; ++i) {
    sync::Guard guard(lock);
    const int64_t value = counter.value();
    ::sched_yield();
    counter.set_value(value + 1);
  }
}

TEST_F(SynchronizeTest, ALockExcludesAcrossProcessesAndThreads) {
  Value<int64_t> counter(0, {.lock = false});
  Lock lock;
  std::deque<Process> children;
  for (int p = 0; p < 3; ++p) {
    children.emplace_back(&IncrementUnderLock, counter, lock, 300);
    EXPECT_TRUE(children.back().Start().ok());
  }
  std::deque<threading::Thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back(&IncrementUnderLock, counter, lock, 300);
    EXPECT_TRUE(threads.back().Start().ok());
  }
  for (Process& child : children) JoinOk(child);
  for (threading::Thread& thread : threads) thread.Join();
  EXPECT_EQ(counter.value(), 5 * 300);
}

void ReleaseLock(Lock lock) { UncheckedRelease(lock); }

TEST_F(SynchronizeTest, AnotherProcessMayReleaseALock) {
  Lock lock;
  UncheckedAcquire(lock);
  Process child(&ReleaseLock, lock);
  EXPECT_TRUE(child.Start().ok());
  JoinOk(child);
  EXPECT_FALSE(lock.Locked());
}

// Takes the lock, says so, and waits for ever holding it.
void HoldUntilKilled(Lock lock, Event holding, Event never) {
  UncheckedAcquire(lock);
  holding.Set();
  never.Wait();
}

// The fault: a process killed while it holds a Lock. As in Python, the lock
// stays held (nobody else knows it died); since a Lock has no owner, another
// process may release it to recover.
TEST_F(SynchronizeTest, ALockHeldByAKilledProcessStaysHeld) {
  Lock lock;
  Event holding;
  Event never;
  Process child(&HoldUntilKilled, lock, holding, never);
  EXPECT_TRUE(child.Start().ok());
  ASSERT_TRUE(holding.Wait());
  child.Kill();
  child.Join();
  EXPECT_EQ(child.ExitCode(), -9);
  EXPECT_TRUE(lock.Locked());
  EXPECT_FALSE(UncheckedAcquire(lock, false));
  EXPECT_FALSE(UncheckedAcquire(lock, true, kShort));
  UncheckedRelease(lock);  // The recovery.
  EXPECT_TRUE(UncheckedAcquire(lock, false));
  UncheckedRelease(lock);
}

// --- RLock ----------------------------------------------------------------

TEST_F(SynchronizeTest, AnRLockIsReentrantForItsOwnerOnly) {
  RLock lock;
  EXPECT_FALSE(lock.IsOwned());
  UncheckedAcquire(lock);
  EXPECT_TRUE(UncheckedAcquire(lock, false));
  EXPECT_EQ(lock.RecursionCount(), 2);
  EXPECT_TRUE(lock.IsOwned());
  threading::Thread other([lock]() mutable {
    // Another thread of the same process is not the owner.
    EXPECT_FALSE(lock.IsOwned());
    EXPECT_EQ(lock.RecursionCount(), 0);
    EXPECT_FALSE(UncheckedAcquire(lock, false));
  });
  EXPECT_TRUE(other.Start().ok());
  other.Join();
  UncheckedRelease(lock);
  EXPECT_TRUE(lock.Locked());
  UncheckedRelease(lock);
  EXPECT_FALSE(lock.Locked());
}

// Holds `lock` twice until `go`, checking that the parent cannot take it.
void HoldRLockTwice(RLock lock, Event holding, Event go) {
  UncheckedAcquire(lock);
  UncheckedAcquire(lock);
  Check(lock.RecursionCount() == 2);
  holding.Set();
  Check(go.Wait());
  UncheckedRelease(lock);
  Check(lock.Locked());
  UncheckedRelease(lock);
}

TEST_F(SynchronizeTest, AnRLockHeldInAChildExcludesTheParent) {
  RLock lock;
  Event holding;
  Event go;
  Process child(&HoldRLockTwice, lock, holding, go);
  EXPECT_TRUE(child.Start().ok());
  ASSERT_TRUE(holding.Wait());
  EXPECT_TRUE(lock.Locked());
  EXPECT_FALSE(lock.IsOwned());
  EXPECT_FALSE(UncheckedAcquire(lock, false));
  go.Set();
  UncheckedAcquire(lock);  // Waits for the child's last Release().
  EXPECT_EQ(lock.RecursionCount(), 1);
  UncheckedRelease(lock);
  JoinOk(child);
}

// Takes the RLock twice, says so, and waits for ever holding it.
void HoldRLockUntilKilled(RLock lock, Event holding, Event never) {
  UncheckedAcquire(lock);
  UncheckedAcquire(lock);
  holding.Set();
  never.Wait();
}

// The fault for an RLock: its owner is a thread of the killed process, so it
// stays held, and no other thread may release it (Python's behaviour too).
TEST_F(SynchronizeTest, AnRLockHeldByAKilledProcessStaysHeld) {
  RLock lock;
  Event holding;
  Event never;
  Process child(&HoldRLockUntilKilled, lock, holding, never);
  EXPECT_TRUE(child.Start().ok());
  ASSERT_TRUE(holding.Wait());
  child.Kill();
  child.Join();
  EXPECT_EQ(child.ExitCode(), -9);
  EXPECT_TRUE(lock.Locked());
  EXPECT_FALSE(lock.IsOwned());
  EXPECT_FALSE(UncheckedAcquire(lock, true, kShort));
}

// As in Python, these objects cross only as Process arguments: a Queue cannot
// carry one (Python's "Lock objects should only be shared between processes
// through inheritance"; here the Put answers pickle.PicklingError).
TEST_F(SynchronizeTest, ALockDoesNotTravelThroughAQueue) {
  Queue<Lock> queue;
  EXPECT_TRUE(IsError(queue.Put(Lock()), PythonError::kPicklingError));
  Queue<Event> events;
  EXPECT_TRUE(IsError(events.Put(Event()), PythonError::kPicklingError));
}

// --- Semaphore ------------------------------------------------------------

TEST_F(SynchronizeTest, ASemaphoreCountsPermits) {
  Semaphore sem(2);
  EXPECT_EQ(sem.value(), 2);
  sem.Acquire();
  EXPECT_TRUE(sem.Acquire(false));
  EXPECT_FALSE(sem.Acquire(false));
  EXPECT_FALSE(sem.Acquire(true, kShort));
  sem.Release(2);
  EXPECT_EQ(sem.value(), 2);
  sem.Release();  // An unbounded semaphore may go above its start.
  EXPECT_EQ(sem.value(), 3);

  BoundedSemaphore bounded(1);
  bounded.Acquire();
  bounded.Release();
  EXPECT_EQ(bounded.value(), 1);
}

// Enters the section `sem` guards `rounds` times, recording in `peak` the
// most processes inside at once.
void EnterLimited(Semaphore sem, Value<int32_t> inside, Value<int32_t> peak,
                  int rounds) {
  for (int r = 0; r < rounds; ++r) {
    sem.Acquire();
    {
      sync::Guard guard(inside.GetLock());
      inside.set_value(inside.value() + 1);
      if (inside.value() > peak.value()) peak.set_value(inside.value());
    }
    ::sched_yield();
    {
      sync::Guard guard(inside.GetLock());
      inside.set_value(inside.value() - 1);
    }
    sem.Release();
  }
}

TEST_F(SynchronizeTest, ASemaphoreLimitsHowManyProcessesEnter) {
  BoundedSemaphore sem(2);
  Value<int32_t> inside(0);
  Value<int32_t> peak(0);
  std::deque<Process> children;
  for (int p = 0; p < 5; ++p) {
    children.emplace_back(&EnterLimited, sem, inside, peak, 200);
    EXPECT_TRUE(children.back().Start().ok());
  }
  for (Process& child : children) JoinOk(child);
  EXPECT_LE(peak.value(), 2);
  EXPECT_GE(peak.value(), 1);
  EXPECT_EQ(inside.value(), 0);
  EXPECT_EQ(sem.value(), 2);
}

void AcquireThenSet(Semaphore sem, Event done) {
  sem.Acquire();
  done.Set();
}

TEST_F(SynchronizeTest, AReleaseWakesAProcessWaitingForAPermit) {
  Semaphore sem(0);
  Event done;
  Process child(&AcquireThenSet, sem, done);
  EXPECT_TRUE(child.Start().ok());
  EXPECT_FALSE(done.Wait(kShort));
  sem.Release();
  EXPECT_TRUE(done.Wait());
  JoinOk(child);
  EXPECT_EQ(sem.value(), 0);
}

// --- Event ----------------------------------------------------------------

TEST_F(SynchronizeTest, AnEventSetsClearsAndTimesOut) {
  Event event;
  EXPECT_FALSE(event.IsSet());
  EXPECT_FALSE(event.Wait(absl::ZeroDuration()));
  EXPECT_FALSE(event.Wait(kShort));
  event.Set();
  event.Set();
  EXPECT_TRUE(event.IsSet());
  EXPECT_TRUE(event.Wait());
  event.Clear();
  EXPECT_FALSE(event.IsSet());
  EXPECT_FALSE(event.Wait(kShort));
}

// Answers each ping with a pong, `n` times.
void Pong(Event ping, Event pong, int n) {
  for (int i = 0; i < n; ++i) {
    Check(ping.Wait());
    ping.Clear();
    pong.Set();
  }
}

TEST_F(SynchronizeTest, EventsPingPongBetweenProcesses) {
  Event ping;
  Event pong;
  Process child(&Pong, ping, pong, 100);
  EXPECT_TRUE(child.Start().ok());
  for (int i = 0; i < 100; ++i) {
    ping.Set();
    ASSERT_TRUE(pong.Wait());
    pong.Clear();
  }
  JoinOk(child);
}

// --- Condition ------------------------------------------------------------

TEST_F(SynchronizeTest, AConditionWaitTimesOutHoldingTheLockAgain) {
  Condition cond;
  sync::Guard guard(cond);
  EXPECT_FALSE(cond.Wait(kShort));
  EXPECT_FALSE(cond.WaitFor([] { return false; }, kShort));
  EXPECT_TRUE(cond.WaitFor([] { return true; }));
  cond.Notify();  // Nobody waits: nothing happens.
}

TEST_F(SynchronizeTest, AConditionWaitReleasesEveryLevelOfItsRLock) {
  RLock lock;
  Condition cond(lock);
  UncheckedAcquire(lock);
  UncheckedAcquire(lock);
  threading::Thread other([lock, cond]() mutable {
    // While the owner waits, the lock is free for others.
    sync::Guard guard(cond);
    EXPECT_EQ(lock.RecursionCount(), 1);
    cond.Notify();
  });
  EXPECT_TRUE(other.Start().ok());
  EXPECT_TRUE(cond.Wait());
  EXPECT_EQ(lock.RecursionCount(), 2);  // Every level is back.
  UncheckedRelease(lock);
  UncheckedRelease(lock);
  other.Join();
}

// Says it arrived (releasing `arrived` while it holds the lock), waits, and
// on waking records its `id` in `woken` and releases `woke`.
void WaitInLine(Condition cond, Semaphore arrived, Value<int32_t> woken,
                Semaphore woke, int id) {
  sync::Guard guard(cond);
  arrived.Release();
  Check(cond.Wait());
  woken.set_value(id);
  woke.Release();
}

// Notify(1) wakes the longest waiter; Notify(n) exactly n (stricter than
// Python's multiprocessing, as sync::Condition).
TEST_F(SynchronizeTest, NotifyWakesTheLongestWaitingProcessesFirst) {
  Lock lock;
  Condition cond(lock);
  Semaphore arrived(0);
  Semaphore woke(0);
  Value<int32_t> woken(-1, {.lock = false});
  std::deque<Process> children;
  for (int id = 0; id < 5; ++id) {
    children.emplace_back(&WaitInLine, cond, arrived, woken, woke, id);
    EXPECT_TRUE(children.back().Start().ok());
    // Child `id` holds the lock from its Release() until it waits, so once
    // the parent has the lock again, the child waits: arrival order is id
    // order.
    arrived.Acquire();
    sync::Guard guard(cond);
  }
  for (int id = 0; id < 2; ++id) {
    {
      sync::Guard guard(cond);
      cond.Notify();
    }
    woke.Acquire();
    EXPECT_EQ(woken.value(), id);
  }
  {
    sync::Guard guard(cond);
    cond.Notify(2);
  }
  woke.Acquire();
  woke.Acquire();
  EXPECT_FALSE(woke.Acquire(true, kShort));  // The fifth still waits.
  {
    sync::Guard guard(cond);
    cond.NotifyAll();
  }
  woke.Acquire();
  EXPECT_EQ(woken.value(), 4);
  for (Process& child : children) JoinOk(child);
}

void WaitForFlag(Condition cond, Value<int32_t> flag) {
  sync::Guard guard(cond);
  Check(cond.WaitFor([&] { return flag.value() == 1; }));
}

TEST_F(SynchronizeTest, NotifyAllWakesEveryWaitingProcess) {
  Condition cond;  // Its own RLock, which crosses with it.
  Value<int32_t> flag(0, {.lock = false});
  std::deque<Process> children;
  for (int p = 0; p < 3; ++p) {
    children.emplace_back(&WaitForFlag, cond, flag);
    EXPECT_TRUE(children.back().Start().ok());
  }
  {
    sync::Guard guard(cond);
    flag.set_value(1);
    cond.NotifyAll();
  }
  for (Process& child : children) JoinOk(child);
}

// --- Barrier --------------------------------------------------------------

void MeetAt(Barrier barrier, Array<int32_t> indices, int slot, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    absl::StatusOr<int> index = barrier.Wait();
    Check(index.ok());
    indices.Set(static_cast<size_t>(slot), *index);
  }
}

TEST_F(SynchronizeTest, ABarrierGivesEachProcessADistinctIndex) {
  Barrier barrier(4);
  EXPECT_EQ(barrier.parties(), 4);
  Array<int32_t> indices(4);
  std::deque<Process> children;
  for (int slot = 0; slot < 3; ++slot) {
    children.emplace_back(&MeetAt, barrier, indices, slot, 20);
    EXPECT_TRUE(children.back().Start().ok());
  }
  MeetAt(barrier, indices, 3, 20);
  for (Process& child : children) JoinOk(child);
  const std::vector<int32_t> last = indices.ToVector();
  EXPECT_EQ(std::set<int32_t>(last.begin(), last.end()),
            (std::set<int32_t>{0, 1, 2, 3}));
  EXPECT_FALSE(barrier.broken());
}

std::atomic<int> actions{0};
void CountAction() { actions.fetch_add(1); }

TEST_F(SynchronizeTest, TheLastToArriveRunsTheActionOncePerRound) {
  actions = 0;
  Barrier barrier(3, {.action = &CountAction});
  std::deque<threading::Thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([barrier]() mutable {
      for (int r = 0; r < 5; ++r) EXPECT_TRUE(barrier.Wait().ok());
    });
    EXPECT_TRUE(threads.back().Start().ok());
  }
  for (threading::Thread& thread : threads) thread.Join();
  EXPECT_EQ(actions.load(), 5);
}

void WaitExpectingBroken(Barrier barrier, Event waiting) {
  waiting.Set();
  Check(IsError(barrier.Wait().status(), PythonError::kBrokenBarrierError));
}

TEST_F(SynchronizeTest, AbortBreaksTheBarrierForWaitingProcesses) {
  Barrier barrier(3);
  Event waiting;
  Process child(&WaitExpectingBroken, barrier, waiting);
  EXPECT_TRUE(child.Start().ok());
  ASSERT_TRUE(waiting.Wait());
  barrier.Abort();
  JoinOk(child);
  EXPECT_TRUE(barrier.broken());
  EXPECT_TRUE(
      IsError(barrier.Wait().status(), PythonError::kBrokenBarrierError));
  barrier.Reset();
  EXPECT_FALSE(barrier.broken());
  EXPECT_EQ(barrier.n_waiting(), 0);
}

TEST_F(SynchronizeTest, ATimeoutBreaksTheBarrier) {
  Barrier barrier(2, {.timeout = kShort});
  EXPECT_TRUE(
      IsError(barrier.Wait().status(), PythonError::kBrokenBarrierError));
  EXPECT_TRUE(barrier.broken());
}

}  // namespace
}  // namespace pyconc::multiprocessing
