#include "sync/internal/parking_lot.h"

#include <thread>

namespace pyconc::sync::internal {

int ParkingLot::SpinsBeforeSleeping() {
  // With a pause per look, 300 looks take 7 us on an AMD EPYC and about twice
  // that on recent Intel CPUs (whose pause is longer): more than a thread
  // takes to answer a ping, less than one sleep and wake-up costs.
  static const int spins = std::thread::hardware_concurrency() > 1 ? 300 : 0;
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
