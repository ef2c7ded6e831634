#include "sync/internal/permits.h"

namespace pyconc::sync::internal {

bool Permits::AcquireSlow(absl::Time deadline) {
  // Reads before it writes, so spinning takers share the cache line until a
  // permit comes back instead of fighting over it.
  auto available = [this] {
    return value_.load(std::memory_order_seq_cst) > 0;
  };
  return lot_.TakeWhenReady(
      available, [this] { return TryAcquire(); }, deadline);
}

}  // namespace pyconc::sync::internal
