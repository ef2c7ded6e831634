// Semaphore and BoundedSemaphore: Python's threading.Semaphore and
// BoundedSemaphore.
//
//   Python                                  pyconc
//   sem = threading.Semaphore(3)            sync::Semaphore sem(3);
//   sem = threading.BoundedSemaphore(3)     sync::BoundedSemaphore sem(3);
//   with sem: ...                           { sync::Guard guard(sem); ... }
//   sem.acquire(timeout=1)                  sem.Acquire(true, absl::Seconds(1))
//   sem.release(), sem.release(2)           sem.Release(), sem.Release(2)
//
// A semaphore counts permits: Acquire() takes one, waiting while there is none;
// Release(n) gives n back, from any thread, and wakes up to n waiters. It
// limits how many threads do something at once. A BoundedSemaphore also checks
// that it is never released above its initial value, which catches a release
// without a matching acquire (Python's ValueError, here misuse that aborts). A
// negative initial value and Release(n) with n < 1 are misuse as well. A
// semaphore holds at most 2^62 - 1 permits (Python's ints have no bound): more,
// at construction or by Release(), is misuse too. Uncontended, Acquire() and
// Release() are one atomic operation each.
//
// Thread-safety: every member may be called from any thread. Memory ordering:
// what a thread wrote before Release() is visible to the thread whose Acquire()
// takes that permit. Release() touches nothing of the semaphore after it gives
// the permits back, so the thread that takes one may destroy it at once.

#ifndef PYCONC_SYNC_SEMAPHORE_SEMAPHORE_H_
#define PYCONC_SYNC_SEMAPHORE_SEMAPHORE_H_

#include <cstdint>

#include "absl/time/time.h"
#include "sync/internal/permits.h"

namespace pyconc::sync {

namespace internal {
struct TestPeer;
}  // namespace internal

class Semaphore {
 public:
  // A semaphore with `value` permits (Python's default is 1).
  explicit Semaphore(int64_t value = 1);
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // Takes a permit, waiting as long as it takes.
  void Acquire();
  // Python's acquire(blocking, timeout): returns whether a permit was taken.
  bool Acquire(bool blocking,
               absl::Duration timeout = absl::InfiniteDuration());
  // Gives back `n` permits (n >= 1), waking up to n waiting threads.
  void Release(int64_t n = 1);
  // The permits available now (a snapshot; Python's private _value).
  int64_t value() const { return permits_.value(); }

 protected:
  Semaphore(int64_t value, int64_t max_value);

 private:
  // Records `permits` on the timeline (a counter).
  static void TracePermits(int64_t permits);
  friend struct internal::TestPeer;

  internal::Permits permits_;
  // Releasing above this is misuse; INT64_MAX for an unbounded semaphore.
  const int64_t max_value_;
};

// A Semaphore that may never hold more than its initial number of permits.
class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(int64_t value = 1) : Semaphore(value, value) {}
};

}  // namespace pyconc::sync

#endif  // PYCONC_SYNC_SEMAPHORE_SEMAPHORE_H_
