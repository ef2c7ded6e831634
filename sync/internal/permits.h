// Permits: a counter of permits that threads take one at a time, waiting while
// none is left. It is the engine under Lock, RLock and Semaphore.
//
// Why not a bare absl::Mutex: Python lets any thread release a Lock or a
// Semaphore, while an absl::Mutex must be unlocked by the thread that locked
// it. Here taking and giving back are single atomic operations on the count, so
// the uncontended path costs one compare-and-swap; threads that have to wait
// do so in a ParkingLot.
//
// Thread-safe. Memory ordering: a successful take synchronizes with the
// Release() that made the permit available, so what the releasing thread wrote
// before Release() is visible to the taking thread, as with a mutex unlock and
// lock.

#ifndef PYCONC_SYNC_INTERNAL_PERMITS_H_
#define PYCONC_SYNC_INTERNAL_PERMITS_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "sync/internal/parking_lot.h"

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
    lot_.WakeAll();
    return true;
  }
  // The permits available now (a snapshot).
  int64_t value() const { return value_.load(std::memory_order_acquire); }

 private:
  // The fast paths above are inline, so that an uncontended Lock costs one
  // call and one atomic operation per Acquire() or Release(), as an
  // absl::Mutex does. The rest is out of line:
  //
  // Acquire() when no permit is free: waits in the lot until one is.
  bool AcquireSlow(absl::Time deadline);

  std::atomic<int64_t> value_;
  ParkingLot lot_;
};

}  // namespace pyconc::sync::internal

#endif  // PYCONC_SYNC_INTERNAL_PERMITS_H_
