#include "sync/internal/permits.h"

namespace pyconc::sync::internal {

bool Permits::TryAcquire() {
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

bool Permits::Acquire(absl::Time deadline) {
  if (TryAcquire()) return true;
  if (deadline == absl::InfinitePast()) return false;  // a non-blocking acquire
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

bool Permits::Release(int64_t n, int64_t max) {
  int64_t value = value_.load(std::memory_order_relaxed);
  do {
    if (value > max - n) return false;
  } while (!value_.compare_exchange_weak(
      value, value + n, std::memory_order_seq_cst, std::memory_order_relaxed));
  if (waiters_.load(std::memory_order_seq_cst) > 0) {
    mu_.Lock();
    mu_.Unlock();
  }
  return true;
}

}  // namespace pyconc::sync::internal
