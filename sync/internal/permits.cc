#include "sync/internal/permits.h"

#include <thread>

namespace pyconc::sync::internal {
namespace {

// How many times a taker looks at the count before it goes to sleep. A lock
// is usually held for a few nanoseconds, far less than a sleep and a wake-up
// cost; absl::Mutex spins in the same way (and as long) before it blocks. On
// one CPU the holder cannot run while the taker spins, so it does not.
int SpinsBeforeSleeping() {
  static const int spins = std::thread::hardware_concurrency() > 1 ? 1500 : 0;
  return spins;
}

}  // namespace

bool Permits::AcquireSlow(absl::Time deadline) {
  if (deadline == absl::InfinitePast()) return false;  // a non-blocking acquire
  for (int i = SpinsBeforeSleeping(); i > 0; --i) {
    // Reads before it writes, so spinning takers share the cache line until a
    // permit comes back instead of fighting over it.
    if (value_.load(std::memory_order_relaxed) > 0 && TryAcquire()) {
      return true;
    }
  }
  absl::MutexLock lock(&mu_);
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  bool acquired = TryAcquire();
  // Another thread's fast path may take the permit between the wake-up and the
  // compare-and-swap; then this thread waits again, until its deadline.
  while (!acquired &&
         mu_.AwaitWithDeadline(absl::Condition(this, &Permits::Available),
                               deadline)) {
    acquired = TryAcquire();
  }
  waiters_.fetch_sub(1, std::memory_order_seq_cst);
  return acquired;
}

void Permits::WakeWaiters() {
  mu_.Lock();
  mu_.Unlock();
}

}  // namespace pyconc::sync::internal
