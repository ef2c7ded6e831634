#include "sync/event/event.h"

#include "sync/internal/parking_lot.h"
#include "sync/internal/timeout.h"

namespace pyconc::sync {

bool Event::IsSet() const {
  return (state_.load(std::memory_order_acquire) & kFlag) != 0;
}

void Event::Set() {
  uint64_t state = state_.load(std::memory_order_acquire);
  do {
    // Already set: the Set() that set it woke every waiter.
    if ((state & kFlag) != 0) return;
  } while (!state_.compare_exchange_weak(
      state, ((state + kOneSet) | kFlag) & ~kSleepers,
      std::memory_order_seq_cst, std::memory_order_acquire));
  // The last access to the Event: its address is the parked threads' key.
  if ((state & kSleepers) != 0) internal::ParkingLot::WakeAll(&state_);
}

void Event::Clear() { state_.fetch_and(~kFlag, std::memory_order_seq_cst); }

bool Event::Wait(absl::Duration timeout) {
  internal::CheckTimeout(timeout);
  const uint64_t seen = state_.load(std::memory_order_acquire);
  if ((seen & kFlag) != 0) return true;
  const absl::Time deadline = internal::AcquireDeadline(true, timeout);
  // The flag was clear; only a Set() changes the word from here.
  auto was_set = [this, seen] {
    return ((state_.load(std::memory_order_seq_cst) ^ seen) & ~kSleepers) != 0;
  };
  return internal::ParkingLot::WaitUntil(state_, kSleepers, was_set, deadline);
}

}  // namespace pyconc::sync
