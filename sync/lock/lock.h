// Lock: Python's threading.Lock, a mutual-exclusion lock with timeouts.
//
// clang-format off
//   Python                          pyconc
//   lock = threading.Lock()         sync::Lock lock;
//   with lock: ...                  { sync::Guard guard(lock); ... }
//   lock.acquire()                  lock.Acquire();
//   lock.acquire(timeout=0.5)       lock.Acquire(true, absl::Milliseconds(500))
//   lock.acquire(blocking=False)    lock.Acquire(false)
//   lock.release(), lock.locked()   lock.Release(), lock.Locked()
// clang-format on
//
// As in Python, a Lock has no owner: a thread other than the one that acquired
// it may release it (a handoff between threads), which a bare absl::Mutex
// forbids. Acquiring it twice from one thread deadlocks; use RLock for that.
// Releasing an unlocked Lock is misuse (Python's RuntimeError) and aborts. It
// also has the standard names (lock, unlock, try_lock, try_lock_for,
// try_lock_until), so std::scoped_lock and std::unique_lock accept it.
//
// Thread-safety: every member may be called from any thread. Memory ordering:
// what a thread wrote before Release() is visible to the thread whose Acquire()
// then succeeds. Clang's -Wthread-safety checks callers; releasing on another
// thread than the acquirer needs ABSL_NO_THREAD_SAFETY_ANALYSIS at that call,
// because the analysis follows one thread. Uncontended, Acquire() and Release()
// are one atomic operation each; while the process has a single thread, a
// plain load and store, as glibc's pthread_mutex_lock does.
//
// Lifetime: a Lock may be destroyed once no thread is inside a call on it.
// Release() touches nothing of the Lock after it frees it, so the thread whose
// Acquire() then succeeds may destroy it at once, even while the releasing
// thread is still returning (as absl::Mutex allows; tests/sync/lifetime).

#ifndef PYCONC_SYNC_LOCK_LOCK_H_
#define PYCONC_SYNC_LOCK_LOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "sync/internal/permits.h"
#include "sync/internal/std_lock_names.h"

namespace pyconc::sync {

namespace internal {
struct TestPeer;
}  // namespace internal

class ABSL_LOCKABLE Lock : public internal::StdLockNames<Lock> {
 public:
  Lock() = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  // Waits as long as it takes to acquire the lock (Python's acquire()).
  void Acquire() ABSL_EXCLUSIVE_LOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Python's acquire(blocking, timeout): returns whether the lock was acquired.
  // A negative timeout, or a finite one with blocking=false, is Python's
  // ValueError.
  bool Acquire(bool blocking, absl::Duration timeout = absl::InfiniteDuration())
      ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Releases the lock, from any thread. Releasing an unlocked lock is misuse.
  void Release() ABSL_UNLOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Whether some thread holds the lock now (a snapshot).
  bool Locked() const { return permits_.value() == 0; }

 private:
  friend struct internal::TestPeer;

  internal::Permits permits_{1};
};

// Python's `with lock:` for any type with Acquire() and Release(): Lock, RLock,
// Condition, Semaphore. Acquires in the constructor, releases in the
// destructor.
template <typename L>
class ABSL_SCOPED_LOCKABLE Guard {
 public:
  explicit Guard(L& lock) ABSL_EXCLUSIVE_LOCK_FUNCTION(lock) : lock_(lock) {
    lock_.Acquire();
  }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
  ~Guard() ABSL_UNLOCK_FUNCTION() { lock_.Release(); }

 private:
  L& lock_;
};

}  // namespace pyconc::sync

#endif  // PYCONC_SYNC_LOCK_LOCK_H_
