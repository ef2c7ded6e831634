// Python's rules for the `blocking` and `timeout` arguments of acquire() and
// wait(), shared by every sync primitive so they all fail the same way.

#ifndef PYCONC_SYNC_INTERNAL_TIMEOUT_H_
#define PYCONC_SYNC_INTERNAL_TIMEOUT_H_

#include <chrono>

#include "absl/time/time.h"

namespace pyconc::sync::internal {

// Fails fast, as Python's ValueError, when `timeout` is negative.
void CheckTimeout(absl::Duration timeout);

// The deadline of acquire(blocking, timeout): now for a non-blocking call, now
// plus `timeout` otherwise (InfiniteFuture for InfiniteDuration). A
// non-blocking call with a finite timeout, or a negative timeout, is Python's
// ValueError.
absl::Time AcquireDeadline(bool blocking, absl::Duration timeout);

// A std::chrono timeout as an absl::Duration for try_lock_for(): negative
// becomes zero (the standard's "try once"), durations too long to represent
// become infinite.
template <typename Rep, typename Period>
absl::Duration FromChronoTimeout(
    const std::chrono::duration<Rep, Period>& timeout) {
  const double seconds = std::chrono::duration<double>(timeout).count();
  return seconds <= 0 ? absl::ZeroDuration() : absl::Seconds(seconds);
}

}  // namespace pyconc::sync::internal

#endif  // PYCONC_SYNC_INTERNAL_TIMEOUT_H_
