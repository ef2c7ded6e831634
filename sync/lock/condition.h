// Condition: Python's threading.Condition, a condition variable bound to a
// lock.
//
// clang-format off
//   Python                             pyconc
//   cond = threading.Condition()       sync::Condition cond;  // owns an RLock
//   cond = threading.Condition(lock)   sync::Condition cond(lock);
//                                      // lock: a Lock or an RLock
//   with cond: cond.wait(timeout=1)    { sync::Guard g(cond);
//                                        cond.Wait(absl::Seconds(1)); }
//   cond.wait_for(lambda: ready)       cond.WaitFor([&] { return ready; })
//   cond.notify(2), cond.notify_all()  cond.Notify(2), cond.NotifyAll()
// clang-format on
//
// Wait() releases the lock (every level of an RLock), sleeps until notified or
// timed out, then takes the lock back. Waiters are woken in the order they
// started waiting, and Notify(n) wakes exactly n of them (fewer if fewer wait);
// there are no spurious wake-ups, so Wait() returns true exactly when a Notify
// chose this waiter. Waiting or notifying without holding the lock is misuse
// (Python's RuntimeError) and aborts; for a plain Lock, "holding" means
// "locked", as in Python.
//
// Thread-safety: every member may be called from any thread; Wait, WaitFor,
// Notify and NotifyAll require the caller to hold the lock (checked at run
// time, not by clang, since the lock may be taken through the Lock object as
// well as through the Condition). Memory ordering is the lock's: a waiter sees
// what the notifier wrote before it released the lock.
//
// Lifetime: a Condition may be destroyed once no thread is inside a call on it
// and none waits. A waiter that a Notify woke may destroy it, and its lock,
// as soon as it has released the lock, even while the notifier is still
// returning from its own release (tests/sync/lifetime).

#ifndef PYCONC_SYNC_LOCK_CONDITION_H_
#define PYCONC_SYNC_LOCK_CONDITION_H_

#include <cstdint>
#include <list>
#include <memory>
#include <variant>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "sync/internal/std_lock_names.h"
#include "sync/lock/lock.h"
#include "sync/lock/rlock.h"

namespace pyconc::sync {

class ABSL_LOCKABLE Condition : public internal::StdLockNames<Condition> {
 public:
  // A condition with its own RLock (Python's Condition()).
  Condition();
  // A condition over `lock`, which must outlive it (Python's Condition(lock)).
  explicit Condition(Lock& lock);
  explicit Condition(RLock& lock);
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;
  ~Condition();

  // Acquire and release the underlying lock, as its own calls do.
  void Acquire() ABSL_EXCLUSIVE_LOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  bool Acquire(bool blocking, absl::Duration timeout = absl::InfiniteDuration())
      ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void Release() ABSL_UNLOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS;

  // Releases the lock, waits for a Notify or for `timeout`, re-acquires the
  // lock. Returns false when the timeout ran out (Python's wait()).
  bool Wait(absl::Duration timeout = absl::InfiniteDuration());

  // Waits until `predicate()` is true or `timeout` has passed, and returns the
  // last value of `predicate()` (Python's wait_for()). The predicate runs under
  // the lock.
  template <typename Predicate>
  bool WaitFor(Predicate predicate,
               absl::Duration timeout = absl::InfiniteDuration()) {
    const absl::Time deadline = absl::Now() + timeout;
    bool result = predicate();
    while (!result) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) break;
      Wait(left);
      result = predicate();
    }
    return result;
  }

  // Wakes the `n` longest-waiting threads, or all of them if fewer wait.
  void Notify(int n = 1);
  // Wakes every waiting thread (Python's notify_all()).
  void NotifyAll();

 private:
  // One waiting thread, on its stack. `notified` is guarded by mu_.
  struct Waiter {
    bool notified = false;
  };

  // Python's _is_owned(), _release_save() and _acquire_restore() for either
  // lock.
  bool IsOwned() const;
  int64_t ReleaseSave() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void AcquireRestore(int64_t saved) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Aborts with Python's RuntimeError unless the caller holds the lock.
  void CheckOwned(const char* what) const;

  const std::unique_ptr<RLock> own_lock_;
  const std::variant<Lock*, RLock*> lock_;
  absl::Mutex mu_;
  std::list<Waiter*> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pyconc::sync

#endif  // PYCONC_SYNC_LOCK_CONDITION_H_
