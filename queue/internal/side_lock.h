// SideLock: the mutex of one side of a queue (wait_side.h), whose Unlock() is
// a plain store.
//
// A Put or a Get takes its side's lock once per item, so the lock's cost is
// much of the queue's. An absl::Mutex pays two atomic read-modify-writes per
// Lock() and Unlock(), and each waits for the CPU's earlier stores (the item,
// the counter, which the other side reads) to leave its store buffer: on the
// bench's one producer and one consumer they took 84% of the time (perf).
// SideLock pays one: Lock() is a compare-and-swap, Unlock() a release store
// followed by a look at a count of sleepers. The two are ordered by
// fence.h's asymmetric fences, as WaitSide orders progress and its sleepers:
// the thread about to sleep runs HeavyFence() (a system call, paid only when
// it sleeps), the unlocking one LightFence() (a compiler barrier).
//
// A thread that finds the lock taken spins (base/spin_wait.h's policy), then
// sleeps on the lock's word (a futex) until an Unlock() wakes it. Not
// reentrant, no owner: the queue's code is its only user.
//
// Thread-safe. Memory ordering: what a thread did before Unlock() happens
// before what the next thread to Lock() does after.

#ifndef PYCONC_QUEUE_INTERNAL_SIDE_LOCK_H_
#define PYCONC_QUEUE_INTERNAL_SIDE_LOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "queue/internal/fence.h"

namespace pyconc::queue::internal {

struct SideLockTestPeer;

class ABSL_LOCKABLE SideLock {
 public:
  SideLock() = default;
  SideLock(const SideLock&) = delete;
  SideLock& operator=(const SideLock&) = delete;

  // Takes the lock, waiting as long as it takes.
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    if (!TryLock()) LockSlow();
  }
  // Releases the lock; wakes one sleeper if there is one.
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    state_.store(kFree, std::memory_order_release);
    LightFence();
    if (sleepers_.load(std::memory_order_relaxed) != 0) WakeOne();
  }

 private:
  friend struct SideLockTestPeer;

  static constexpr uint32_t kFree = 0;
  static constexpr uint32_t kTaken = 1;

  bool TryLock() {
    uint32_t expected = kFree;
    return state_.compare_exchange_strong(
        expected, kTaken, std::memory_order_acquire, std::memory_order_relaxed);
  }
  // Spins, then sleeps, until TryLock() succeeds.
  void LockSlow();
  void WakeOne();

  std::atomic<uint32_t> state_{kFree};
  // Threads in LockSlow()'s sleeping part (counted before HeavyFence()).
  std::atomic<uint32_t> sleepers_{0};
};

// Holds a SideLock for its scope, as absl::MutexLock does an absl::Mutex.
class ABSL_SCOPED_LOCKABLE SideGuard {
 public:
  explicit SideGuard(SideLock* lock) ABSL_EXCLUSIVE_LOCK_FUNCTION(lock)
      : lock_(lock) {
    lock_->Lock();
  }
  SideGuard(const SideGuard&) = delete;
  SideGuard& operator=(const SideGuard&) = delete;
  ~SideGuard() ABSL_UNLOCK_FUNCTION() { lock_->Unlock(); }

 private:
  SideLock* const lock_;
};

}  // namespace pyconc::queue::internal

#endif  // PYCONC_QUEUE_INTERNAL_SIDE_LOCK_H_
