#include "sync/internal/permits.h"

#include <optional>

#include "base/trace.h"

namespace pyconc::sync::internal {

bool Permits::AcquireSlow(absl::Time deadline, int looks) {
  // Only a thread that waits is on the timeline; the fast path records
  // nothing.
  std::optional<trace::Slice> waiting;
  if (deadline != absl::InfinitePast()) waiting.emplace("sync", "blocked");
  // Reads before it writes, so spinning takers share the cache line until a
  // permit comes back instead of fighting over it.
  auto available = [this] {
    return word_.load(std::memory_order_seq_cst) >= kOne;
  };
  return ParkingLot::TakeWhenReady(
      word_, kSleepers, available, [this] { return TryAcquire(); }, deadline,
      looks);
}

}  // namespace pyconc::sync::internal
