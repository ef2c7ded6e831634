#include "sync/internal/permits.h"

namespace pyconc::sync::internal {

bool Permits::AcquireSlow(absl::Time deadline) {
  if (deadline == absl::InfinitePast()) return false;  // a non-blocking acquire
  // Reads before it writes, so spinning takers share the cache line until a
  // permit comes back instead of fighting over it.
  auto available = [this] {
    return value_.load(std::memory_order_seq_cst) > 0;
  };
  // Another thread's fast path may take the permit between the wake-up and the
  // compare-and-swap; then this thread waits again, until its deadline.
  while (lot_.WaitUntil(available, deadline)) {
    if (TryAcquire()) return true;
  }
  return false;
}

}  // namespace pyconc::sync::internal
