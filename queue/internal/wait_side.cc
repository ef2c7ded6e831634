#include "queue/internal/wait_side.h"

#include <atomic>
#include <climits>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/futex.h"
#include "queue/internal/fence.h"

namespace pyconc::queue::internal {

constexpr auto kProcess = pyconc::internal::FutexScope::kProcess;

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
  const uint32_t wakes = wakes_.load(std::memory_order_relaxed);
  mu_.Unlock();
  pyconc::internal::FutexWait(&wakes_, wakes, deadline, kProcess);
  mu_.Lock();
  const bool timed_out =
      deadline != absl::InfiniteFuture() && absl::Now() >= deadline;
  --sleeping_;
  if (woken_ > 0) --woken_;
  Publish();
  return timed_out;
}

void WaitSide::WakeOne() {
  SideGuard lock(&mu_);
  if (sleeping_ > woken_) {
    ++woken_;
    Publish();
    wakes_.fetch_add(1, std::memory_order_relaxed);
    pyconc::internal::FutexWake(&wakes_, 1, kProcess);
  }
}

void WaitSide::WakeAll() {
  SideGuard lock(&mu_);
  woken_ = sleeping_;
  Publish();
  wakes_.fetch_add(1, std::memory_order_relaxed);
  pyconc::internal::FutexWake(&wakes_, INT_MAX, kProcess);
}

}  // namespace pyconc::queue::internal
