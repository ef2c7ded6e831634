// Lock, Event, Condition, Semaphore, BoundedSemaphore, Barrier and Hold,
// ported from CPython 3.13's Lib/test/test_asyncio/test_locks.py (each test
// names its CPython test) plus the `async with` spellings locks.h documents.
// Every ordering comes from Sleep(0) steps (asyncio.sleep(0)) and futures the
// test sets: no timing.
#include "asyncio/locks.h"

#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "asyncio/asyncio.h"
#include "base/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyconc::asyncio {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

// asyncio.sleep(0): every task ready now runs before this one resumes.
internal::SleepAwaiter Yield() { return Sleep(absl::ZeroDuration()); }

Coroutine<int> AcquireAndRecord(Lock* lock, std::vector<int>* order, int tag) {
  co_await lock->Acquire();
  order->push_back(tag);
  co_return tag;
}

// test_locks.LockTests.test_acquire: waiters get the lock in FIFO order, one
// per release.
TEST(LockTest, WaitersAcquireInFifoOrder) {
  asyncio::Run([]() -> Coroutine<void> {
    Lock lock;
    std::vector<int> order;
    EXPECT_TRUE(co_await lock.Acquire());
    Task<int> t1 = CreateTask(AcquireAndRecord(&lock, &order, 1));
    Task<int> t2 = CreateTask(AcquireAndRecord(&lock, &order, 2));
    co_await Yield();
    EXPECT_THAT(order, ElementsAre());
    lock.Release();
    co_await Yield();
    EXPECT_THAT(order, ElementsAre(1));
    co_await Yield();
    EXPECT_THAT(order, ElementsAre(1));
    Task<int> t3 = CreateTask(AcquireAndRecord(&lock, &order, 3));
    lock.Release();
    co_await Yield();
    EXPECT_THAT(order, ElementsAre(1, 2));
    lock.Release();
    co_await Yield();
    EXPECT_THAT(order, ElementsAre(1, 2, 3));
    EXPECT_TRUE(t1.Done() && t2.Done() && t3.Done());
    lock.Release();
  }());
}

// A task that calls Acquire() after a release, before the woken waiter has
// run, waits behind it (no barging).
TEST(LockTest, ANewcomerDoesNotBargePastAWokenWaiter) {
  asyncio::Run([]() -> Coroutine<void> {
    Lock lock;
    std::vector<int> order;
    co_await lock.Acquire();
    Task<int> waiter = CreateTask(AcquireAndRecord(&lock, &order, 1));
    co_await Yield();
    lock.Release();  // Wakes `waiter`, which has not run yet.
    EXPECT_FALSE(lock.Locked());
    Task<int> newcomer = CreateTask(AcquireAndRecord(&lock, &order, 2));
    co_await Yield();
    EXPECT_THAT(order, ElementsAre(1));
    lock.Release();
    co_await newcomer;
    EXPECT_THAT(order, ElementsAre(1, 2));
    lock.Release();
  }());
}

// test_locks.LockTests.test_acquire_cancel: the cancelled waiter leaves, and
// the lock is free for the next one at once.
TEST(LockTest, ACancelledAcquireLeavesNoWaiter) {
  asyncio::Run([]() -> Coroutine<void> {
    Lock lock;
    co_await lock.Acquire();
    Task<bool> task = CreateTask(lock.Acquire());
    co_await Yield();
    task.Cancel("stop");
    try {
      co_await task;
      ADD_FAILURE() << "the acquire was not cancelled";
    } catch (const CancelledError& e) {
      EXPECT_EQ(e.message(), "stop");
    }
    lock.Release();
    EXPECT_FALSE(lock.Locked());
    co_await lock.Acquire();  // Nobody waits ahead: no suspension needed.
    EXPECT_TRUE(lock.Locked());
    lock.Release();
  }());
}

Coroutine<void> HoldUntil(Lock* lock, Future<void> blocker) {
  auto held = co_await Hold(*lock);
  co_await blocker;
}

Coroutine<void> HoldBriefly(Lock* lock) { auto held = co_await Hold(*lock); }

// test_locks.LockTests.test_cancel_race: B is cancelled while A releases;
// the wake-up goes to C, not to cancelled B.
TEST(LockTest, ReleaseSkipsAWaiterCancelledAtTheSameTime) {
  asyncio::Run([]() -> Coroutine<void> {
    Lock lock;
    Future<void> fa;
    Task<void> ta = CreateTask(HoldUntil(&lock, fa));
    co_await Yield();
    EXPECT_TRUE(lock.Locked());
    Task<void> tb = CreateTask(HoldBriefly(&lock));
    co_await Yield();
    Task<void> tc = CreateTask(HoldBriefly(&lock));
    co_await Yield();
    fa.SetResult();
    tb.Cancel();
    co_await Yield();
    EXPECT_FALSE(lock.Locked());
    EXPECT_TRUE(ta.Done());
    EXPECT_TRUE(tb.Cancelled());
    co_await tc;
  }());
}

Coroutine<void> CountedAcquire(Lock* lock, int* calls, int* locks) {
  ++*calls;
  co_await lock->Acquire();
  ++*locks;
}

// test_locks.LockTests.test_cancel_release_race (bpo-32734): cancelling the
// first waiter while releasing hands the lock to exactly one other task.
TEST(LockTest, CancelAndReleaseTogetherTakeTheLockOnce) {
  asyncio::Run([]() -> Coroutine<void> {
    Lock lock;
    int calls = 0;
    int locks = 0;
    co_await lock.Acquire();
    Task<void> t1 = CreateTask(CountedAcquire(&lock, &calls, &locks));
    Task<void> t2 = CreateTask(CountedAcquire(&lock, &calls, &locks));
    Task<void> t3 = CreateTask(CountedAcquire(&lock, &calls, &locks));
    co_await Yield();
    GetRunningLoop().CallSoon([&] {
      t1.Cancel();
      lock.Release();
    });
    try {
      co_await t1;
    } catch (const CancelledError&) {
    }
    EXPECT_EQ(locks, 1);
    EXPECT_EQ(calls, 3);
    EXPECT_TRUE(t1.Cancelled());
    EXPECT_TRUE(t2.Done());
    t3.Cancel();
    co_await Yield();
    EXPECT_TRUE(t3.Cancelled());
  }());
}

// test_locks.LockTests.test_finished_waiter_cancelled: a waiter cancelled
// right after its wake-up passes the lock on to the next waiter.
TEST(LockTest, AWokenWaiterCancelledPassesTheWakeUpOn) {
  asyncio::Run([]() -> Coroutine<void> {
    Lock lock;
    co_await lock.Acquire();
    Task<bool> tb = CreateTask(lock.Acquire());
    co_await Yield();
    Task<bool> tc = CreateTask(lock.Acquire());
    tb.Cancel();
    lock.Release();
    co_await Yield();
    EXPECT_TRUE(lock.Locked());
    EXPECT_TRUE(tb.Cancelled());
    EXPECT_TRUE(co_await tc);
    lock.Release();
  }());
}

// Same, with the wake-up delivered first and the cancel after it.
TEST(LockTest, CancelAfterTheWakeUpStillPassesTheLockOn) {
  asyncio::Run([]() -> Coroutine<void> {
    Lock lock;
    co_await lock.Acquire();
    Task<bool> tb = CreateTask(lock.Acquire());
    Task<bool> tc = CreateTask(lock.Acquire());
    co_await Yield();
    lock.Release();  // tb woken...
    tb.Cancel();     // ...and cancelled before it runs.
    co_await tc;
    EXPECT_TRUE(tb.Cancelled());
    EXPECT_TRUE(lock.Locked());
    lock.Release();
  }());
}

// test_locks.LockTests.test_release_not_acquired.
TEST(LockDeathTest, ReleasingAnUnlockedLockIsRuntimeError) {
  EXPECT_DEATH(
      {
        Lock lock;
        lock.Release();
      },
      "RuntimeError.*Lock is not acquired");
}

// test_locks.LockTests.test_context_manager, in each spelling locks.h
// documents: the guard releases at the end of its scope, at Release(), and
// when an exception or a cancellation unwinds the block.
TEST(HoldTest, EverySpellingReleasesTheLock) {
  asyncio::Run([]() -> Coroutine<void> {
    Lock lock;
    {
      auto held = co_await Hold(lock);
      EXPECT_TRUE(lock.Locked());
    }
    EXPECT_FALSE(lock.Locked());
    {
      Held<Lock> held = co_await Hold(lock);
      EXPECT_TRUE(lock.Locked());
      held.Release();
      EXPECT_FALSE(lock.Locked());
      held.Release();  // Once only.
      EXPECT_FALSE(lock.Locked());
    }
    {
      co_await lock.Acquire();
      EXPECT_TRUE(lock.Locked());
      lock.Release();
    }
    try {
      auto held = co_await Hold(lock);
      throw std::runtime_error("boom");
    } catch (const std::runtime_error&) {
      EXPECT_FALSE(lock.Locked());
    }
    Semaphore sem(2);
    {
      auto a = co_await Hold(sem);
      auto b = co_await Hold(sem);
      EXPECT_EQ(sem.value(), 0);
    }
    EXPECT_EQ(sem.value(), 2);
    Condition cond;
    {
      auto held = co_await Hold(cond);
      EXPECT_TRUE(cond.Locked());
    }
    EXPECT_FALSE(cond.Locked());
  }());
}

TEST(HoldTest, ACancelledHolderReleasesAndAWaitingHoldIsLeftClean) {
  asyncio::Run([]() -> Coroutine<void> {
    Lock lock;
    Future<void> never;
    Task<void> holder = CreateTask(HoldUntil(&lock, never));
    co_await Yield();
    Task<void> waiter = CreateTask(HoldBriefly(&lock));
    co_await Yield();
    waiter.Cancel();  // Cancelled inside Hold, before it holds anything.
    holder.Cancel();  // Cancelled while holding: the guard releases.
    co_await Yield();
    EXPECT_TRUE(waiter.Cancelled());
    EXPECT_TRUE(holder.Cancelled());
    EXPECT_FALSE(lock.Locked());
    never.Cancel();
  }());
}

Coroutine<int> WaitEvent(Event* ev, std::vector<int>* order, int tag) {
  const bool set = co_await ev->Wait();
  if (set) order->push_back(tag);
  co_return tag;
}

// test_locks.EventTests.test_wait: Set() wakes every waiter.
TEST(EventTest, SetWakesEveryWaiter) {
  asyncio::Run([]() -> Coroutine<void> {
    Event ev;
    std::vector<int> order;
    EXPECT_FALSE(ev.IsSet());
    Task<int> t1 = CreateTask(WaitEvent(&ev, &order, 1));
    Task<int> t2 = CreateTask(WaitEvent(&ev, &order, 2));
    co_await Yield();
    EXPECT_THAT(order, ElementsAre());
    Task<int> t3 = CreateTask(WaitEvent(&ev, &order, 3));
    ev.Set();
    co_await Yield();
    EXPECT_THAT(order, ElementsAre(3, 1, 2));
    EXPECT_TRUE(t1.Done() && t2.Done() && t3.Done());
    // test_wait_on_set: a set event does not suspend.
    EXPECT_TRUE(co_await ev.Wait());
  }());
}

// test_locks.EventTests.test_clear_with_waiters: a waiter woken by Set()
// returns even though Clear() ran before it did.
TEST(EventTest, AWokenWaiterReturnsEvenIfClearedBeforeItRuns) {
  asyncio::Run([]() -> Coroutine<void> {
    Event ev;
    std::vector<int> order;
    Task<int> t = CreateTask(WaitEvent(&ev, &order, 1));
    co_await Yield();
    ev.Set();
    ev.Clear();
    EXPECT_FALSE(ev.IsSet());
    ev.Set();
    ev.Set();
    co_await Yield();
    EXPECT_THAT(order, ElementsAre(1));
    EXPECT_TRUE(t.Done());
  }());
}

// test_locks.EventTests.test_wait_cancel: the cancelled waiter leaves and a
// later Set() wakes only the others.
TEST(EventTest, ACancelledWaitLeavesTheOthersWaiting) {
  asyncio::Run([]() -> Coroutine<void> {
    Event ev;
    std::vector<int> order;
    Task<int> t1 = CreateTask(WaitEvent(&ev, &order, 1));
    Task<int> t2 = CreateTask(WaitEvent(&ev, &order, 2));
    co_await Yield();
    t1.Cancel();
    co_await Yield();
    EXPECT_TRUE(t1.Cancelled());
    ev.Set();
    EXPECT_EQ(co_await t2, 2);
    EXPECT_THAT(order, ElementsAre(2));
  }());
}

Coroutine<int> WaitCondition(Condition* cond, std::vector<int>* order,
                             int tag) {
  auto held = co_await Hold(*cond);
  co_await cond->Wait();
  EXPECT_TRUE(cond->Locked());
  order->push_back(tag);
  co_return tag;
}

// test_locks.ConditionTests.test_notify and test_notify_all: Notify(n) wakes
// the n oldest waiters, each holding the lock in turn.
TEST(ConditionTest, NotifyWakesTheOldestWaitersInOrder) {
  asyncio::Run([]() -> Coroutine<void> {
    Condition cond;
    std::vector<int> order;
    Task<int> t1 = CreateTask(WaitCondition(&cond, &order, 1));
    Task<int> t2 = CreateTask(WaitCondition(&cond, &order, 2));
    Task<int> t3 = CreateTask(WaitCondition(&cond, &order, 3));
    co_await Yield();
    EXPECT_FALSE(cond.Locked());
    {
      auto held = co_await Hold(cond);
      cond.Notify(1);
    }
    co_await Yield();
    EXPECT_THAT(order, ElementsAre(1));
    {
      auto held = co_await Hold(cond);
      cond.Notify(1);
      cond.Notify(2048);
    }
    co_await Yield();
    co_await Yield();
    EXPECT_THAT(order, ElementsAre(1, 2, 3));
    EXPECT_TRUE(t1.Done() && t2.Done() && t3.Done());
    std::vector<int> all;
    Task<int> t4 = CreateTask(WaitCondition(&cond, &all, 4));
    Task<int> t5 = CreateTask(WaitCondition(&cond, &all, 5));
    co_await Yield();
    {
      auto held = co_await Hold(cond);
      cond.NotifyAll();
    }
    co_await t4;
    co_await t5;
    EXPECT_THAT(all, ElementsAre(4, 5));
  }());
}

// test_locks.ConditionTests.test_wait_cancel: CancelledError leaves Wait with
// the lock held again.
TEST(ConditionTest, ACancelledWaitReacquiresTheLockFirst) {
  asyncio::Run([]() -> Coroutine<void> {
    Condition cond;
    co_await cond.Acquire();
    Task<bool> wait = CreateTask(cond.Wait());
    GetRunningLoop().CallSoon([wait]() mutable { wait.Cancel(); });
    try {
      co_await wait;
      ADD_FAILURE() << "the wait was not cancelled";
    } catch (const CancelledError&) {
    }
    EXPECT_TRUE(cond.Locked());
    cond.Release();
  }());
}

Coroutine<void> WaitUntilCancelled(Condition* cond, bool* locked_in_catch,
                                   std::string* message) {
  auto held = co_await Hold(*cond);
  try {
    co_await cond->WaitFor([] { return false; });
  } catch (const CancelledError& e) {
    *locked_in_catch = cond->Locked();
    *message = e.message();
    throw;
  }
}

// test_locks.ConditionTests.test_cancelled_error_re_aquire: cancelled while
// re-acquiring, Wait goes on until it holds the lock, then lets the
// CancelledError (with its message) out.
TEST(ConditionTest, CancelledWhileReacquiringStillHoldsTheLockOnExit) {
  asyncio::Run([]() -> Coroutine<void> {
    Condition cond;
    bool locked_in_catch = false;
    std::string message;
    Task<void> task =
        CreateTask(WaitUntilCancelled(&cond, &locked_in_catch, &message));
    co_await Yield();
    co_await cond.Acquire();
    cond.Notify();
    co_await Yield();  // The task now waits for the lock.
    task.Cancel("foo");
    co_await Yield();
    EXPECT_FALSE(task.Done());  // It cannot leave without the lock.
    cond.Release();
    try {
      co_await task;
    } catch (const CancelledError& e) {
      EXPECT_EQ(e.message(), "foo");
    }
    EXPECT_TRUE(task.Cancelled());
    EXPECT_TRUE(locked_in_catch);
    EXPECT_EQ(message, "foo");
    EXPECT_FALSE(cond.Locked());
  }());
}

// test_locks.ConditionTests.test_cancelled_error_wakeup: cancelled while
// waiting for the notification, with a message.
TEST(ConditionTest, CancelledWhileWaitingKeepsTheMessage) {
  asyncio::Run([]() -> Coroutine<void> {
    Condition cond;
    bool locked_in_catch = false;
    std::string message;
    Task<void> task =
        CreateTask(WaitUntilCancelled(&cond, &locked_in_catch, &message));
    co_await Yield();
    task.Cancel("foo");
    try {
      co_await task;
    } catch (const CancelledError& e) {
      EXPECT_EQ(e.message(), "foo");
    }
    EXPECT_TRUE(locked_in_catch);
    EXPECT_FALSE(cond.Locked());
  }());
}

Coroutine<void> Consumer(Condition* cond, int* state) {
  auto held = co_await Hold(*cond);
  for (;;) {
    co_await cond->WaitFor([state] { return *state != 0; });
    if (*state < 0) co_return;
    --*state;
  }
}

// test_locks.ConditionTests.test_cancelled_wakeup and
// test_cancelled_wakeup_relock: a consumer cancelled just after Notify(1)
// picked it (before it runs, or while it re-acquires the lock) passes the
// notification on, so the item is still consumed. (CPython lets the loop
// settle under a 10 ms timeout; here the test awaits the cancelled consumer,
// which hands the notification on before it ends.)
void ExpectNoLostWakeUp(bool relock) {
  asyncio::Run([](bool relock) -> Coroutine<void> {
    Condition cond;
    int state = 0;
    Task<void> c0 = CreateTask(Consumer(&cond, &state));
    Task<void> c1 = CreateTask(Consumer(&cond, &state));
    co_await Yield();
    {
      auto held = co_await Hold(cond);
      state += 1;
      cond.Notify(1);
      if (relock) co_await Yield();  // c0 now waits for the lock.
      c0.Cancel();
    }
    try {
      co_await c0;
      ADD_FAILURE() << "the consumer was not cancelled";
    } catch (const CancelledError&) {
    }
    EXPECT_EQ(state, 0);
    {
      auto held = co_await Hold(cond);
      state = -1;
      cond.NotifyAll();
    }
    co_await c1;
  }(relock));
}

TEST(ConditionTest, CancelledRightAfterNotifyLosesNoWakeUp) {
  ExpectNoLostWakeUp(false);
}

TEST(ConditionTest, CancelledWhileRelockingLosesNoWakeUp) {
  ExpectNoLostWakeUp(true);
}

// test_locks.ConditionTests.test_explicit_lock: a Condition on a given Lock
// shares its state.
TEST(ConditionTest, AnExplicitLockIsShared) {
  asyncio::Run([]() -> Coroutine<void> {
    Lock lock;
    Condition cond(lock);
    co_await lock.Acquire();
    EXPECT_TRUE(cond.Locked());
    cond.Release();
    EXPECT_FALSE(lock.Locked());
    co_await cond.Acquire();
    EXPECT_TRUE(lock.Locked());
    lock.Release();
  }());
}

// test_locks.ConditionTests.test_wait_unacquired, test_notify_unacquired.
TEST(ConditionDeathTest, WaitOrNotifyWithoutTheLockIsRuntimeError) {
  EXPECT_DEATH(
      {
        Condition cond;
        cond.Notify();
      },
      "RuntimeError.*cannot notify on un-acquired lock");
  EXPECT_DEATH(
      {
        Condition cond;
        cond.NotifyAll();
      },
      "RuntimeError.*cannot notify on un-acquired lock");
  EXPECT_DEATH(asyncio::Run([]() -> Coroutine<void> {
                 Condition cond;
                 co_await cond.Wait();
               }()),
               "RuntimeError.*cannot wait on un-acquired lock");
}

Coroutine<void> AcquireSem(Semaphore* sem, std::vector<int>* order, int tag,
                           bool again) {
  co_await sem->Acquire();
  order->push_back(tag);
  if (again) {
    sem->Release();
    co_await sem->Acquire();
    order->push_back(tag + 3);
  }
}

// test_locks.SemaphoreTests.test_acquire_fifo_order_2: a task that releases
// and re-acquires queues behind the tasks already waiting.
TEST(SemaphoreTest, ReacquiringQueuesBehindWaiters) {
  asyncio::Run([]() -> Coroutine<void> {
    Semaphore sem(1);
    std::vector<int> order;
    co_await sem.Acquire();
    Task<void> t1 = CreateTask(AcquireSem(&sem, &order, 1, false));
    Task<void> t2 = CreateTask(AcquireSem(&sem, &order, 2, false));
    co_await Yield();
    Task<void> t3 = CreateTask(AcquireSem(&sem, &order, 3, false));
    sem.Release();
    sem.Release();
    co_await t1;
    co_await t2;
    EXPECT_THAT(order, ElementsAre(1, 2));
    sem.Release();
    co_await t3;
    EXPECT_THAT(order, ElementsAre(1, 2, 3));
  }());
  asyncio::Run([]() -> Coroutine<void> {
    Semaphore sem(1);
    std::vector<int> order;
    co_await sem.Acquire();
    Task<void> t1 = CreateTask(AcquireSem(&sem, &order, 1, false));
    Task<void> t2 = CreateTask(AcquireSem(&sem, &order, 2, true));
    Task<void> t3 = CreateTask(AcquireSem(&sem, &order, 3, false));
    co_await Yield();
    sem.Release();
    sem.Release();
    co_await t1;
    co_await t3;
    EXPECT_THAT(order, ElementsAre(1, 2, 3));
    EXPECT_FALSE(t2.Done());
    sem.Release();
    co_await t2;
    EXPECT_THAT(order, ElementsAre(1, 2, 3, 5));
  }());
}

// test_locks.SemaphoreTests.test_acquire_cancel_before_awoken: units released
// after waiters were cancelled go to the next live waiter, one each.
TEST(SemaphoreTest, CancelledWaitersAreSkipped) {
  asyncio::Run([]() -> Coroutine<void> {
    Semaphore sem(0);
    Task<bool> t1 = CreateTask(sem.Acquire());
    Task<bool> t2 = CreateTask(sem.Acquire());
    Task<bool> t3 = CreateTask(sem.Acquire());
    Task<bool> t4 = CreateTask(sem.Acquire());
    co_await Yield();
    t1.Cancel();
    t2.Cancel();
    sem.Release();
    co_await Yield();
    co_await Yield();
    EXPECT_TRUE(t3.Done());
    EXPECT_FALSE(t4.Done());
    t4.Cancel();
    co_await Yield();
    EXPECT_TRUE(t4.Cancelled());
    EXPECT_EQ(sem.value(), 0);
  }());
}

// test_locks.SemaphoreTests.test_acquire_hang: a waiter cancelled together
// with the release does not keep the unit from the next waiter.
TEST(SemaphoreTest, ACancelledWaiterDoesNotStrandAUnit) {
  asyncio::Run([]() -> Coroutine<void> {
    Semaphore sem(0);
    Task<bool> t1 = CreateTask(sem.Acquire());
    Task<bool> t2 = CreateTask(sem.Acquire());
    co_await Yield();
    t1.Cancel();
    sem.Release();
    co_await Yield();
    co_await Yield();
    EXPECT_TRUE(sem.Locked());
    EXPECT_TRUE(t2.Done());
  }());
  // The woken waiter itself cancelled before it runs: its unit goes back and
  // on to the next.
  asyncio::Run([]() -> Coroutine<void> {
    Semaphore sem(0);
    Task<bool> t1 = CreateTask(sem.Acquire());
    Task<bool> t2 = CreateTask(sem.Acquire());
    co_await Yield();
    sem.Release();  // t1 woken, unit reserved for it.
    t1.Cancel();
    EXPECT_TRUE(co_await t2);
    EXPECT_TRUE(t1.Cancelled());
    EXPECT_EQ(sem.value(), 0);
    sem.Release();
    EXPECT_EQ(sem.value(), 1);
  }());
}

// test_locks.SemaphoreTests.test_semaphore, test_release_no_waiters and
// locked(): Locked() while a waiter queues, even with a free unit.
TEST(SemaphoreTest, LockedWhileAnyoneWaitsAhead) {
  asyncio::Run([]() -> Coroutine<void> {
    Semaphore sem(1);
    EXPECT_FALSE(sem.Locked());
    co_await sem.Acquire();
    EXPECT_TRUE(sem.Locked());
    Task<bool> t = CreateTask(sem.Acquire());
    co_await Yield();
    sem.Release();  // The unit is t's.
    EXPECT_TRUE(sem.Locked());
    co_await t;
    sem.Release();
    EXPECT_FALSE(sem.Locked());
    EXPECT_EQ(sem.value(), 1);
  }());
}

// test_locks.SemaphoreTests.test_initial_value_zero (the ValueError case) and
// BoundedSemaphore's release above its value.
TEST(SemaphoreDeathTest, MisuseNamesPythonsError) {
  EXPECT_DEATH(Semaphore(-1), "ValueError.*Semaphore initial value");
  EXPECT_DEATH(
      {
        BoundedSemaphore sem(1);
        sem.Release();
      },
      "ValueError.*BoundedSemaphore released too many times");
}

TEST(SemaphoreTest, ABoundedSemaphoreReleasesUpToItsValue) {
  asyncio::Run([]() -> Coroutine<void> {
    BoundedSemaphore sem(2);
    co_await sem.Acquire();
    co_await sem.Acquire();
    sem.Release();
    sem.Release();
    EXPECT_EQ(sem.value(), 2);
  }());
}

Coroutine<void> WaitBarrier(Barrier* barrier, std::vector<int>* indices,
                            std::vector<std::string>* errors) {
  absl::StatusOr<int> index = co_await barrier->Wait();
  if (index.ok()) {
    indices->push_back(*index);
  } else {
    EXPECT_TRUE(IsError(index.status(), PythonError::kBrokenBarrierError))
        << index.status();
    errors->push_back(std::string(index.status().message()));
  }
}

// test_locks.BarrierTests.test_filling_tasks_check_return_value and
// test_filling_tasks_wait_twice: every party gets a distinct index, round
// after round.
TEST(BarrierTest, EveryPartyGetsADistinctIndexEachRound) {
  asyncio::Run([]() -> Coroutine<void> {
    Barrier barrier(3);
    EXPECT_EQ(barrier.parties(), 3);
    for (int round = 0; round < 2; ++round) {
      std::vector<int> indices;
      std::vector<std::string> errors;
      std::vector<Task<void>> tasks;
      for (int i = 0; i < 3; ++i) {
        tasks.push_back(CreateTask(WaitBarrier(&barrier, &indices, &errors)));
      }
      co_await Gather(tasks);
      EXPECT_THAT(indices, UnorderedElementsAre(0, 1, 2));
      EXPECT_THAT(errors, ElementsAre());
      EXPECT_EQ(barrier.n_waiting(), 0);
      EXPECT_FALSE(barrier.broken());
    }
  }());
}

// test_locks.BarrierTests.test_filling_tasks_cancel_one: a cancelled waiter
// leaves the round without breaking it.
TEST(BarrierTest, ACancelledWaiterLeavesTheRound) {
  asyncio::Run([]() -> Coroutine<void> {
    Barrier barrier(3);
    std::vector<int> indices;
    std::vector<std::string> errors;
    Task<void> t1 = CreateTask(WaitBarrier(&barrier, &indices, &errors));
    co_await Yield();
    EXPECT_EQ(barrier.n_waiting(), 1);
    Task<void> t2 = CreateTask(WaitBarrier(&barrier, &indices, &errors));
    co_await Yield();
    EXPECT_EQ(barrier.n_waiting(), 2);
    t1.Cancel();
    co_await Yield();
    EXPECT_EQ(barrier.n_waiting(), 1);
    EXPECT_TRUE(t1.Cancelled());
    Task<void> t3 = CreateTask(WaitBarrier(&barrier, &indices, &errors));
    co_await Yield();
    EXPECT_EQ(barrier.n_waiting(), 2);
    Task<void> t4 = CreateTask(WaitBarrier(&barrier, &indices, &errors));
    co_await Gather(t2, t3, t4);
    EXPECT_EQ(indices.size(), 3u);
    EXPECT_EQ(barrier.n_waiting(), 0);
    EXPECT_FALSE(barrier.broken());
  }());
}

// test_locks.BarrierTests.test_reset_barrier_while_tasks_waiting: Reset()
// breaks the waiting round; the barrier then works again.
TEST(BarrierTest, ResetBreaksTheWaitingRoundThenWorksAgain) {
  asyncio::Run([]() -> Coroutine<void> {
    Barrier barrier(3);
    std::vector<int> indices;
    std::vector<std::string> errors;
    Task<void> t1 = CreateTask(WaitBarrier(&barrier, &indices, &errors));
    Task<void> t2 = CreateTask(WaitBarrier(&barrier, &indices, &errors));
    co_await Yield();
    Task<void> reset = CreateTask(barrier.Reset());
    co_await Gather(t1, t2);
    EXPECT_THAT(errors,
                ElementsAre("threading.BrokenBarrierError: Abort or reset of "
                            "barrier",
                            "threading.BrokenBarrierError: Abort or reset of "
                            "barrier"));
    EXPECT_EQ(barrier.n_waiting(), 0);
    EXPECT_FALSE(barrier.broken());
    errors.clear();
    std::vector<Task<void>> tasks;
    for (int i = 0; i < 3; ++i) {
      tasks.push_back(CreateTask(WaitBarrier(&barrier, &indices, &errors)));
    }
    co_await Gather(tasks);
    EXPECT_THAT(indices, UnorderedElementsAre(0, 1, 2));
    EXPECT_THAT(errors, ElementsAre());
    co_await reset;
  }());
}

// test_locks.BarrierTests.test_abort_barrier and
// test_abort_barrier_when_exception: Abort() breaks the barrier for the
// waiters and for later arrivals, until Reset().
TEST(BarrierTest, AbortBreaksItUntilReset) {
  asyncio::Run([]() -> Coroutine<void> {
    Barrier barrier(3);
    std::vector<int> indices;
    std::vector<std::string> errors;
    Task<void> t1 = CreateTask(WaitBarrier(&barrier, &indices, &errors));
    co_await Yield();
    co_await barrier.Abort();
    co_await t1;
    EXPECT_TRUE(barrier.broken());
    co_await WaitBarrier(&barrier, &indices, &errors);
    EXPECT_THAT(errors,
                ElementsAre("threading.BrokenBarrierError: Abort or reset of "
                            "barrier",
                            "threading.BrokenBarrierError: Barrier aborted"));
    EXPECT_THAT(indices, ElementsAre());
    co_await barrier.Reset();
    EXPECT_FALSE(barrier.broken());
  }());
}

// Python's _LoopBoundMixin: a primitive a task of one loop waited on cannot
// be waited on from another loop (both loops alive, so that they differ).
TEST(LocksDeathTest, WaitingFromASecondLoopIsRuntimeError) {
  EXPECT_DEATH(
      {
        Event ev;
        EventLoop first;
        first.RunUntilComplete([](Event* ev) -> Coroutine<void> {
          Task<bool> waiter = CreateTask(ev->Wait());
          co_await Yield();
          ev->Set();
          co_await waiter;
        }(&ev));
        ev.Clear();
        EventLoop second;
        second.RunUntilComplete(ev.Wait());
      },
      "RuntimeError.*bound to a different event loop");
}

// A primitive that goes away while a task still waits on it, when the loop
// then closes without running that task again (EventLoop::Close abandons
// it), leaves nothing dangling.
TEST(LocksTest, ALoopClosedAfterAPrimitiveWentAwayIsSafe) {
  EventLoop loop;
  loop.RunUntilComplete([]() -> Coroutine<void> {
    Lock lock;
    co_await lock.Acquire();
    Task<bool> stuck = CreateTask(lock.Acquire());
    co_await Yield();
    EXPECT_FALSE(stuck.Done());
  }());
  loop.Close();
}

// test_locks.BarrierTests.test_barrier_parties (the ValueError case).
TEST(BarrierDeathTest, FewerThanOnePartyIsValueError) {
  EXPECT_DEATH(Barrier(0), "ValueError.*parties must be > 0");
}

}  // namespace
}  // namespace pyconc::asyncio
