// Lock, Event, Condition, Semaphore, BoundedSemaphore, Barrier: Python's
// asyncio synchronization primitives (asyncio/locks.py, 3.13), for tasks of
// one event loop.
//
//   Python                                 pyconc
//   lock = asyncio.Lock()                  Lock lock;
//   async with lock: ...                   { auto held = co_await Hold(lock);
//                                            ... }
//   await lock.acquire(); lock.release()   co_await lock.Acquire();
//                                          lock.Release();
//   ev.set(); await ev.wait(); ev.clear()  ev.Set(); co_await ev.Wait();
//                                          ev.Clear();
//   async with cond: await cond.wait()     { auto held = co_await Hold(cond);
//                                            co_await cond.Wait(); }
//   await cond.wait_for(pred)              co_await cond.WaitFor(pred);
//   cond.notify(n), cond.notify_all()      cond.Notify(n), cond.NotifyAll()
//   sem = asyncio.Semaphore(3)             Semaphore sem(3);
//   async with sem: ...                    { auto held = co_await Hold(sem);
//                                            ... }
//   b = asyncio.Barrier(3)                 Barrier b(3);
//   i = await b.wait()                     absl::StatusOr<int> i =
//                                              co_await b.Wait();
//   await b.reset(), await b.abort()       co_await b.Reset(),
//                                          co_await b.Abort()
//
// `async with`: Hold(x) acquires x (a Lock, Condition, Semaphore or
// BoundedSemaphore) and gives a Held<X> guard that releases it when it goes
// out of scope, also when a CancelledError or another exception unwinds the
// block. Keep the guard in a variable (`auto held = co_await Hold(lock);` or
// `Held<Lock> held = ...`): `co_await Hold(lock);` alone releases at once.
//
// With g++ 12, bind what an Acquire or Wait gives before testing it
// (`bool set = co_await ev.Wait(); if (set) ...` or
// `if (bool set = co_await ev.Wait())`): built by g++ 12, a `co_await` that is
// the whole condition of an `if`, as in `if (co_await ev.Wait())`, compiles
// but crashes at run time, as it does for any Coroutine<bool> (a g++ 12 bug;
// clang 14 is fine).
//
// Where it matches Python 3.13, case by case:
// - Waiters wake in FIFO order and nobody barges: a task calling Acquire()
//   while a woken waiter has not yet run waits behind it (Lock: unless every
//   waiter is cancelled; Semaphore: Locked() is true while any waiter is not
//   cancelled).
// - A cancelled waiter throws CancelledError at its await and passes on a
//   wake-up it received but cannot use, so cancelling never strands the lock
//   or a semaphore's unit.
// - Event::Set() wakes every waiter, even if Clear() runs before they do.
// - Condition::Wait() releases the lock, waits for a Notify, and re-acquires
//   the lock before it returns or lets CancelledError out (it keeps
//   re-acquiring through further cancellations, and rethrows the last one);
//   a cancelled or failed waiter passes its notification to another waiter.
// - Barrier: the last of `parties` tasks to arrive releases the round; every
//   task gets a distinct index in [0, parties). Reset() breaks the round that
//   is filling (its waiters get BrokenBarrierError) and the barrier is usable
//   again once they have left; Abort() breaks it until Reset(). A cancelled
//   waiter leaves the round without breaking it.
// - The primitives are bound to the loop of the first task that waits on them
//   (Python's _LoopBoundMixin): waiting from another loop is RuntimeError.
//
// Where C++ forced a difference: Python raises BrokenBarrierError; here, as
// everywhere in pyconc (and as //sync/barrier), Barrier::Wait() returns it as
// a value, absl::StatusOr<int> with //base:errors' kBrokenBarrierError status
// ("threading.BrokenBarrierError: ...", which is asyncio.BrokenBarrierError).
// Cancellation stays the exception CancelledError. Misuse that Python answers
// with RuntimeError or ValueError fails fast naming it: releasing an unlocked
// Lock, waiting or notifying on a Condition whose lock is not held, a negative
// Semaphore value, releasing a BoundedSemaphore above its initial value, a
// Barrier of fewer than one party.
//
// Costs: an uncontended Acquire/Release, Set, or Wait on a set Event never
// suspends; a waiter is a node in the waiting coroutine's frame, not a
// future.
//
// Lifetime: a primitive must outlive the tasks waiting on it (Python's
// garbage collector keeps it alive for them; C++ cannot): destroying it while
// a task waits that will run again is a use after free, as for a std::mutex.
// Only a loop closing with such a task pending (EventLoop::Close, which never
// runs it again) is safe.
//
// Thread-safety: like Python's, not thread-safe: use them on their loop's
// thread. Another thread reaches them through CallSoonThreadsafe.

#ifndef PYCONC_ASYNCIO_LOCKS_H_
#define PYCONC_ASYNCIO_LOCKS_H_

#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "asyncio/coroutine.h"
#include "asyncio/internal/wait_list.h"

namespace pyconc::asyncio {

// Python's asyncio.Lock: not owned by a task; any task may release it.
class Lock {
 public:
  Lock() = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  // Python's acquire(): waits its turn, then locks; always true.
  Coroutine<bool> Acquire();
  // Python's release(): unlocks and wakes the first waiter. Misuse
  // (RuntimeError) when not locked.
  void Release();
  // Python's locked().
  bool Locked() const { return locked_; }

 private:
  void WakeUpFirst();

  internal::WaitList waiters_;
  bool locked_ = false;
};

// Python's asyncio.Event.
class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  // Python's is_set(), set(), clear().
  bool IsSet() const { return value_; }
  void Set();
  void Clear() { value_ = false; }
  // Python's wait(): true once set (at once if set now).
  Coroutine<bool> Wait();

 private:
  internal::WaitList waiters_;
  bool value_ = false;
};

// Python's asyncio.Condition(lock=None).
class Condition {
 public:
  // With its own Lock, or with `lock` (which must outlive it).
  Condition() : lock_(&own_lock_) {}
  explicit Condition(Lock& lock) : lock_(&lock) {}
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;

  // The lock's Acquire(), Release(), Locked(), as Python exports them.
  Coroutine<bool> Acquire() { return lock_->Acquire(); }
  void Release() { lock_->Release(); }
  bool Locked() const { return lock_->Locked(); }

  // Python's wait(); see the top of this file. Returns true. Misuse
  // (RuntimeError) when the lock is not held.
  Coroutine<bool> Wait();
  // Python's wait_for(predicate): waits until `predicate()` is truthy and
  // returns that value.
  template <typename P>
  Coroutine<std::invoke_result_t<P&>> WaitFor(P predicate) {
    auto result = predicate();
    while (!result) {
      co_await Wait();
      result = predicate();
    }
    co_return result;
  }
  // Python's notify(n), notify_all(): wakes up to `n` waiters, or all. Misuse
  // (RuntimeError) when the lock is not held.
  void Notify(int n = 1);
  void NotifyAll();

 private:
  void NotifyUnchecked(size_t n);

  Lock own_lock_;
  Lock* lock_;
  internal::WaitList waiters_;
};

// Python's asyncio.Semaphore(value=1).
class Semaphore {
 public:
  // Misuse (ValueError) when `value` < 0.
  explicit Semaphore(int value = 1);
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // Python's acquire(): waits its turn for a unit; always true.
  Coroutine<bool> Acquire();
  // Python's release(): returns a unit and wakes the next waiter. On a
  // BoundedSemaphore, misuse (ValueError) above the initial value.
  void Release();
  // Python's locked(): no unit is free, or tasks wait ahead of a newcomer.
  bool Locked() const { return value_ == 0 || !waiters_.AllCancelled(); }
  // The units free now (Python's _value, for tools and tests).
  int value() const { return value_; }

 protected:
  // A semaphore whose Release() may not go above `bound`.
  Semaphore(int value, int bound);

 private:
  bool WakeUpNext();
  void WakeUpWhileFree();

  internal::WaitList waiters_;
  int value_;
  int bound_;  // -1: unbounded.
};

// Python's asyncio.BoundedSemaphore(value=1): Release() above the initial
// value is misuse (ValueError).
class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(int value = 1) : Semaphore(value, value) {}
};

// Python's asyncio.Barrier(parties) (3.11).
class Barrier {
 public:
  // Misuse (ValueError) when `parties` < 1.
  explicit Barrier(int parties);
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  // Python's wait(): this task's index in [0, parties) once all have arrived,
  // or BrokenBarrierError (kAborted) when the barrier is broken or reset.
  Coroutine<absl::StatusOr<int>> Wait();
  // Python's reset(): breaks the filling round for its waiters; usable
  // again once they have left.
  Coroutine<void> Reset();
  // Python's abort(): broken until Reset().
  Coroutine<void> Abort();

  // Python's parties, n_waiting, broken.
  int parties() const { return parties_; }
  int n_waiting() const { return state_ == State::kFilling ? count_ : 0; }
  bool broken() const { return state_ == State::kBroken; }

 private:
  enum class State { kFilling, kDraining, kResetting, kBroken };
  void Exit();

  Condition cond_;
  int parties_;
  int count_ = 0;
  State state_ = State::kFilling;
};

// What Hold(x) gives: x is held until the guard is destroyed or Release()d.
// Move-only.
template <typename L>
class [[nodiscard]] Held {
 public:
  Held(Held&& other) noexcept : lock_(std::exchange(other.lock_, nullptr)) {}
  Held& operator=(Held&& other) noexcept {
    if (this != &other) {
      Release();
      lock_ = std::exchange(other.lock_, nullptr);
    }
    return *this;
  }
  ~Held() { Release(); }

  // Releases before the end of the scope (once; later calls do nothing).
  void Release() {
    if (lock_ != nullptr) std::exchange(lock_, nullptr)->Release();
  }

 private:
  template <typename M>
  friend Coroutine<Held<M>> Hold(M& lock);
  explicit Held(L* lock) : lock_(lock) {}

  L* lock_;
};

// Python's `async with x:` for a Lock, Condition, Semaphore or
// BoundedSemaphore; see the top of this file.
template <typename L>
Coroutine<Held<L>> Hold(L& lock) {
  co_await lock.Acquire();
  co_return Held<L>(&lock);
}

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_LOCKS_H_
