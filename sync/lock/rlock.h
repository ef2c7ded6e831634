// RLock: Python's threading.RLock, a reentrant lock.
//
// The thread that holds an RLock may acquire it again; it is released when that
// thread has called Release() as many times as it acquired it. Only the owner
// may release it: releasing an RLock the calling thread does not hold is misuse
// (Python's RuntimeError) and aborts. Acquire(blocking, timeout), the standard
// lock names and Guard work as for Lock (see lock.h). Condition() without an
// argument uses an RLock, as in Python.
//
// Thread-safety: every member may be called from any thread. Memory ordering:
// what the owner wrote before its last Release() is visible to the next thread
// to acquire it. A recursive acquire by the owner touches no shared state at
// all. Release() touches nothing of the RLock after it frees the lock, so the
// next owner may destroy it at once.

#ifndef PYCONC_SYNC_LOCK_RLOCK_H_
#define PYCONC_SYNC_LOCK_RLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "sync/internal/std_lock_names.h"

namespace pyconc::sync {

namespace internal {
struct TestPeer;
}  // namespace internal

class Condition;

class ABSL_LOCKABLE RLock : public internal::StdLockNames<RLock> {
 public:
  RLock() = default;
  RLock(const RLock&) = delete;
  RLock& operator=(const RLock&) = delete;

  // Acquires the lock, or adds one level of recursion when the caller owns it.
  void Acquire() ABSL_EXCLUSIVE_LOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Python's acquire(blocking, timeout): returns whether the lock was acquired.
  bool Acquire(bool blocking, absl::Duration timeout = absl::InfiniteDuration())
      ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Drops one level of recursion; the last one unlocks. Only the owner may call
  // it.
  void Release() ABSL_UNLOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Whether some thread holds the lock now (Python 3.14's locked()).
  bool Locked() const {
    return (owner_.load(std::memory_order_acquire) & ~kSleepers) != 0;
  }
  // Whether the calling thread holds it (Python's _is_owned()).
  bool IsOwned() const;
  // How many times the calling thread holds it; 0 for other threads (Python's
  // _recursion_count()).
  int64_t RecursionCount() const { return IsOwned() ? count_ : 0; }

 private:
  friend class Condition;
  friend struct internal::TestPeer;

  // Acquire(blocking, timeout) with the deadline it computed.
  bool AcquireUntil(absl::Time deadline);
  // Makes `me` the owner if nobody is; one compare-and-swap.
  bool TakeIfFree(uintptr_t me);
  // Waits until `me` could take the lock, or `deadline` passes.
  bool TakeWhenFree(uintptr_t me, absl::Time deadline);

  // What Condition::Wait needs: release every level at once, and take them
  // back.
  int64_t ReleaseSave();
  void AcquireRestore(int64_t count);

  // The owner's identity (see CurrentThread() in rlock.cc, an even address),
  // or 0 when unlocked, with ParkingLot's sleeper bit: the lock itself, so
  // that taking and releasing it are one atomic operation each, as for Lock.
  // Only a thread can store its own identity, so a thread reading its own back
  // (relaxed) knows it is the owner.
  static constexpr uintptr_t kSleepers = 1;
  std::atomic<uintptr_t> owner_{0};
  // The recursion level; read and written only by the owner.
  int64_t count_ = 0;
};

}  // namespace pyconc::sync

#endif  // PYCONC_SYNC_LOCK_RLOCK_H_
