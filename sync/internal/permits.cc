#include "sync/internal/permits.h"

namespace pyconc::sync::internal {

bool Permits::AcquireSlow(absl::Time deadline) {
  // Reads before it writes, so spinning takers share the cache line until a
  // permit comes back instead of fighting over it.
  auto available = [this] {
    return word_.load(std::memory_order_seq_cst) >= kOne;
  };
  return ParkingLot::TakeWhenReady(
      word_, kSleepers, available, [this] { return TryAcquire(); }, deadline);
}

}  // namespace pyconc::sync::internal
