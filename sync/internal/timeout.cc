#include "sync/internal/timeout.h"

#include "absl/time/clock.h"
#include "base/misuse.h"

namespace pyconc::sync::internal {

void CheckTimeout(absl::Duration timeout) {
  if (timeout < absl::ZeroDuration()) {
    pyconc::internal::Misuse("ValueError",
                             "timeout value must be a non-negative number");
  }
}

absl::Time AcquireDeadline(bool blocking, absl::Duration timeout) {
  CheckTimeout(timeout);
  if (!blocking) {
    if (timeout != absl::InfiniteDuration()) {
      pyconc::internal::Misuse(
          "ValueError", "can't specify a timeout for a non-blocking call");
    }
    return absl::InfinitePast();
  }
  // Skips reading the clock for the common untimed acquire.
  return timeout == absl::InfiniteDuration() ? absl::InfiniteFuture()
                                             : absl::Now() + timeout;
}

}  // namespace pyconc::sync::internal
