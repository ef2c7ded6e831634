#include "queue/internal/wait_side.h"

#include <atomic>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "queue/internal/fence.h"

namespace pyconc::queue::internal {

void WaitSide::Publish() {
  unwoken_.store(sleeping_ - woken_, std::memory_order_seq_cst);
}

void WaitSide::Announce() {
  ++sleeping_;
  Publish();
  // Before the caller's last look at its condition (see the header).
  HeavyFence();
}

void WaitSide::Withdraw() {
  // Nobody can have woken us: wakers take mu_, which we held since Announce().
  --sleeping_;
  Publish();
}

bool WaitSide::Sleep(absl::Time deadline) {
  const bool timed_out = cv_.WaitWithDeadline(&mu_, deadline);
  --sleeping_;
  if (woken_ > 0) --woken_;
  Publish();
  return timed_out;
}

void WaitSide::WakeOne() {
  absl::MutexLock lock(&mu_);
  if (sleeping_ > woken_) {
    ++woken_;
    Publish();
    cv_.Signal();
  }
}

void WaitSide::WakeAll() {
  absl::MutexLock lock(&mu_);
  woken_ = sleeping_;
  Publish();
  cv_.SignalAll();
}

}  // namespace pyconc::queue::internal
