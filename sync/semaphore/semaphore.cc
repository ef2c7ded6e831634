#include "sync/semaphore/semaphore.h"

#include <cstdint>

#include "base/misuse.h"
#include "base/trace.h"
#include "sync/internal/timeout.h"

namespace pyconc::sync {

namespace {

// `value`, when it is a valid initial value; aborts otherwise.
int64_t InitialValue(int64_t value) {
  if (value < 0) {
    pyconc::internal::Misuse("ValueError",
                             "semaphore initial value must be >= 0");
  }
  if (value > internal::Permits::kMax) {
    pyconc::internal::Misuse("OverflowError",
                             "semaphore initial value must be < 2**62");
  }
  return value;
}

}  // namespace

Semaphore::Semaphore(int64_t value)
    : Semaphore(value, internal::Permits::kMax) {}

Semaphore::Semaphore(int64_t value, int64_t max_value)
    : permits_(InitialValue(value)), max_value_(max_value) {}

void Semaphore::Acquire() {
  permits_.Acquire(absl::InfiniteFuture());
  if (trace::Enabled()) TracePermits(permits_.value());
}

bool Semaphore::Acquire(bool blocking, absl::Duration timeout) {
  const bool acquired =
      permits_.Acquire(internal::AcquireDeadline(blocking, timeout));
  if (trace::Enabled()) TracePermits(permits_.value());
  return acquired;
}

void Semaphore::Release(int64_t n) {
  if (n < 1) pyconc::internal::Misuse("ValueError", "n must be one or more");
  // Recorded before: once released, the permits may be taken (and recorded)
  // by another thread, which may then destroy the semaphore.
  if (trace::Enabled()) TracePermits(permits_.value() + n);
  if (!permits_.Release(n, max_value_)) {
    pyconc::internal::Misuse("ValueError", "Semaphore released too many times");
  }
}

void Semaphore::TracePermits(int64_t permits) {
  trace::Counter("sync", "semaphore permits", static_cast<double>(permits));
}

}  // namespace pyconc::sync
