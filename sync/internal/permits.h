// Permits: a counter of permits that threads take one at a time, waiting while
// none is left. It is the engine under Lock, RLock and Semaphore.
//
// Why not a bare absl::Mutex: Python lets any thread release a Lock or a
// Semaphore, while an absl::Mutex must be unlocked by the thread that locked
// it. Here taking and giving back are single atomic operations on the count, so
// the uncontended path costs one compare-and-swap (a plain load and store
// while the process has one thread: single_threaded.h); threads that have to
// wait do so in a ParkingLot.
//
// Thread-safe. Memory ordering: a successful take synchronizes with the
// Release() that made the permit available, so what the releasing thread wrote
// before Release() is visible to the taking thread, as with a mutex unlock and
// lock. Release() is its last access to the Permits (see parking_lot.h): the
// thread that takes the permit may destroy it at once.

#ifndef PYCONC_SYNC_INTERNAL_PERMITS_H_
#define PYCONC_SYNC_INTERNAL_PERMITS_H_

#include <atomic>
#include <cstdint>
#include <limits>

#include "absl/time/time.h"
#include "base/spin_wait.h"
#include "sync/internal/parking_lot.h"
#include "sync/internal/single_threaded.h"

namespace pyconc::sync::internal {

struct TestPeer;

class Permits {
 public:
  // The most permits there can be: the word keeps one bit for ParkingLot.
  static constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 2;

  // `initial` is in [0, kMax].
  explicit Permits(int64_t initial) : word_(initial * kOne) {}
  Permits(const Permits&) = delete;
  Permits& operator=(const Permits&) = delete;

  // Takes a permit if one is available now; never waits.
  bool TryAcquire() {
    if (SingleThreaded()) return Change(-1, kMax);
    int64_t word = word_.load(std::memory_order_seq_cst);
    while (word >= kOne) {
      // Keeps the sleeper bit: the thread that parked still sleeps.
      if (word_.compare_exchange_weak(word, word - kOne,
                                      std::memory_order_seq_cst,
                                      std::memory_order_seq_cst)) {
        return true;
      }
    }
    return false;
  }
  // Takes a permit, waiting until `deadline` for one; false when the deadline
  // passed. InfinitePast() means: do not wait at all. A waiter spins `looks`
  // looks before it sleeps (a Lock's: SpinWait::kMutexLooks).
  bool Acquire(absl::Time deadline,
               int looks = pyconc::internal::SpinWait::kLooks) {
    return TryAcquire() || AcquireSlow(deadline, looks);
  }
  // Adds `n` permits and wakes waiters, unless the count would exceed `max`
  // (at most kMax): then it adds nothing and returns false. Touches nothing
  // of this object after the permits are published.
  bool Release(int64_t n, int64_t max) {
    if (SingleThreaded()) return Change(n, max);
    if (n == 1 && max == 1) return ReleaseTheOne();
    int64_t word = word_.load(std::memory_order_relaxed);
    do {
      if (word / kOne > max - n) return false;
    } while (!word_.compare_exchange_weak(word, (word + n * kOne) & ~kSleepers,
                                          std::memory_order_seq_cst,
                                          std::memory_order_relaxed));
    if ((word & kSleepers) != 0) ParkingLot::WakeAll(&word_);
    return true;
  }
  // The permits available now (a snapshot).
  int64_t value() const { return word_.load(std::memory_order_acquire) / kOne; }

 private:
  friend struct TestPeer;

  // The fast paths above are inline, so that an uncontended Lock costs one
  // call and one atomic operation per Acquire() or Release(), as an
  // absl::Mutex does. The rest is out of line:
  //
  // Acquire() when no permit is free: waits in the lot until one is.
  bool AcquireSlow(absl::Time deadline, int looks);

  // Release(1, 1), a Lock's: the one permit comes back with one exchange
  // (which also clears the sleeper bit) instead of a compare-and-swap loop.
  bool ReleaseTheOne() {
    const int64_t word = word_.exchange(kOne, std::memory_order_seq_cst);
    if (word >= kOne) return false;  // It was free: kOne is what it held.
    if ((word & kSleepers) != 0) ParkingLot::WakeAll(&word_);
    return true;
  }

  // TryAcquire() (`n` = -1) and Release(n, max) while the caller is the only
  // thread: the same change of the word, with a plain load and store.
  bool Change(int64_t n, int64_t max) {
    const int64_t word = word_.load(std::memory_order_relaxed);
    const int64_t permits = word / kOne;
    if (permits + n < 0 || permits > max - n) return false;
    word_.store((word + n * kOne) & ~kSleepers, std::memory_order_relaxed);
    // A waiter whose deadline passed may have left the bit behind.
    if (n > 0 && (word & kSleepers) != 0) ParkingLot::WakeAll(&word_);
    return true;
  }

  // The count times kOne; kSleepers while a thread may be parked on it.
  static constexpr int64_t kSleepers = 1;
  static constexpr int64_t kOne = 2;
  std::atomic<int64_t> word_;
};

}  // namespace pyconc::sync::internal

#endif  // PYCONC_SYNC_INTERNAL_PERMITS_H_
