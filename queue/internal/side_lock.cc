#include "queue/internal/side_lock.h"

#include <atomic>

#include "absl/time/time.h"
#include "base/futex.h"
#include "base/spin_wait.h"
#include "queue/internal/fence.h"

namespace pyconc::queue::internal {

using ::pyconc::internal::FutexScope;

void SideLock::LockSlow() {
  for (pyconc::internal::SpinWait spin; spin.Next();) {
    if (state_.load(std::memory_order_relaxed) == kFree && TryLock()) return;
  }
  // Counted, then HeavyFence(): an Unlock() whose store this thread's next
  // look may miss sees the count, and wakes a sleeper (see the header).
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  HeavyFence();
  while (!TryLock()) {
    pyconc::internal::FutexWait(&state_, kTaken, absl::InfiniteFuture(),
                                FutexScope::kProcess);
  }
  sleepers_.fetch_sub(1, std::memory_order_relaxed);
}

void SideLock::WakeOne() {
  pyconc::internal::FutexWake(&state_, 1, FutexScope::kProcess);
}

}  // namespace pyconc::queue::internal
