#include "sync/semaphore/semaphore.h"

#include <limits>

#include "sync/internal/timeout.h"
#include "base/misuse.h"

namespace pyconc::sync {

Semaphore::Semaphore(int64_t value)
    : Semaphore(value, std::numeric_limits<int64_t>::max()) {}

Semaphore::Semaphore(int64_t value, int64_t max_value)
    : permits_(value), max_value_(max_value) {
  if (value < 0) {
    pyconc::internal::Misuse("ValueError",
                             "semaphore initial value must be >= 0");
  }
}

void Semaphore::Acquire() { permits_.Acquire(absl::InfiniteFuture()); }

bool Semaphore::Acquire(bool blocking, absl::Duration timeout) {
  return permits_.Acquire(internal::AcquireDeadline(blocking, timeout));
}

void Semaphore::Release(int64_t n) {
  if (n < 1) pyconc::internal::Misuse("ValueError", "n must be one or more");
  if (!permits_.Release(n, max_value_)) {
    pyconc::internal::Misuse("ValueError", "Semaphore released too many times");
  }
}

}  // namespace pyconc::sync
