// Permits: a counter of permits that threads take one at a time, waiting while
// none is left. It is the engine under Lock, RLock and Semaphore.
//
// Why not a bare absl::Mutex: Python lets any thread release a Lock or a
// Semaphore, while an absl::Mutex must be unlocked by the thread that locked
// it. Here taking and giving back are single atomic operations on the count, so
// the uncontended path costs one compare-and-swap; the absl::Mutex is used only
// by threads that have to wait.
//
// Thread-safe. Memory ordering: a successful take synchronizes with the
// Release() that made the permit available, so what the releasing thread wrote
// before Release() is visible to the taking thread, as with a mutex unlock and
// lock.

#ifndef PYCONC_SYNC_INTERNAL_PERMITS_H_
#define PYCONC_SYNC_INTERNAL_PERMITS_H_

#include <atomic>
#include <cstdint>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace pyconc::sync::internal {

class Permits {
 public:
  explicit Permits(int64_t initial) : value_(initial) {}
  Permits(const Permits&) = delete;
  Permits& operator=(const Permits&) = delete;

  // Takes a permit if one is available now; never waits.
  bool TryAcquire() {
    int64_t value = value_.load(std::memory_order_seq_cst);
    while (value > 0) {
      if (value_.compare_exchange_weak(value, value - 1,
                                       std::memory_order_seq_cst,
                                       std::memory_order_seq_cst)) {
        return true;
      }
    }
    return false;
  }
  // Takes a permit, waiting until `deadline` for one; false when the deadline
  // passed. InfinitePast() means: do not wait at all.
  bool Acquire(absl::Time deadline) {
    return TryAcquire() || AcquireSlow(deadline);
  }
  // Adds `n` permits and wakes waiters, unless the count would exceed `max`:
  // then it adds nothing and returns false.
  bool Release(int64_t n, int64_t max) {
    int64_t value = value_.load(std::memory_order_relaxed);
    do {
      if (value > max - n) return false;
    } while (!value_.compare_exchange_weak(value, value + n,
                                           std::memory_order_seq_cst,
                                           std::memory_order_relaxed));
    if (waiters_.load(std::memory_order_seq_cst) > 0) WakeWaiters();
    return true;
  }
  // The permits available now (a snapshot).
  int64_t value() const { return value_.load(std::memory_order_acquire); }

 private:
  // The fast paths above are inline, so that an uncontended Lock costs one
  // call and one atomic operation per Acquire() or Release(), as an
  // absl::Mutex does. The rest is out of line:
  //
  // Acquire() when no permit is free: spins a little, then sleeps.
  bool AcquireSlow(absl::Time deadline);
  // Makes the sleeping takers re-check the count.
  void WakeWaiters();

  // The condition sleeping takers wait for; reads the atomic only, so it is
  // pure.
  bool Available() const { return value_.load(std::memory_order_seq_cst) > 0; }

  // Release() stores the count and then reads waiters_; a taker increments
  // waiters_ and then reads the count. Both are sequentially consistent, so at
  // least one of them sees the other: either the taker finds the permit, or the
  // releaser wakes the taker.
  std::atomic<int64_t> value_;
  std::atomic<int64_t> waiters_{0};
  // Held by a waiting taker between its checks; a releaser that saw waiters
  // locks and unlocks it, which makes absl::Mutex re-evaluate the waiters'
  // conditions.
  absl::Mutex mu_;
};

}  // namespace pyconc::sync::internal

#endif  // PYCONC_SYNC_INTERNAL_PERMITS_H_
