#include "sync/internal/parking_lot.h"

#include <thread>

namespace pyconc::sync::internal {

int ParkingLot::SpinsBeforeSleeping() {
  // 2 pauses, then 62 yields of about 0.5 us each when no other thread wants
  // the CPU: more than a thread takes to answer a ping, less than a sleep and
  // a wake-up cost.
  static const int spins = std::thread::hardware_concurrency() > 1 ? 64 : 0;
  return spins;
}

void ParkingLot::WakeSleepers() {
  mu_.Lock();
  mu_.Unlock();
}

void ParkingLot::AwaitSleepers(int64_t n) {
  absl::MutexLock lock(&mu_);
  auto enough = [this, n] {
    return sleepers_.load(std::memory_order_seq_cst) >= n;
  };
  mu_.Await(absl::Condition(&enough));
}

}  // namespace pyconc::sync::internal
