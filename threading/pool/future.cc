#include "threading/pool/future.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "threading/thread/thread.h"
#include "tools/misuse/misuse.h"

namespace pyconc::futures::internal {

namespace {

bool IsDone(uint32_t phase) {
  return phase == FutureCore::kCancelled || phase == FutureCore::kFinished;
}

}  // namespace

FutureCore::~FutureCore() {
  if (exception_ != nullptr && !retrieved_.load(std::memory_order_relaxed)) {
    const std::string report =
        absl::StrCat("pyconc: Future exception was never retrieved: ",
                     threading::DescribeException(exception_), "\n");
    std::fwrite(report.data(), 1, report.size(), stderr);
  }
}

bool FutureCore::Cancel() {
  uint32_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if ((s & kCompleting) != 0) return false;
    const uint32_t phase = s & kPhaseMask;
    if (phase == kCancelled) return true;
    if (phase != kPending) return false;
    if (state_.compare_exchange_weak(s, (s & ~kPhaseMask) | kCancelled,
                                     std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      break;
    }
  }
  if ((s & kWatched) != 0) Notify();
  return true;
}

bool FutureCore::SetRunningOrNotifyCancel() {
  uint32_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    const uint32_t phase = s & kPhaseMask;
    if (phase == kCancelled) return false;
    if (phase != kPending || (s & kCompleting) != 0) {
      pyconc::internal::Misuse("RuntimeError", "Future in unexpected state");
    }
    if (state_.compare_exchange_weak(s, (s & ~kPhaseMask) | kRunning,
                                     std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      return true;
    }
  }
}

bool FutureCore::WaitFor(absl::Duration timeout) const {
  if (Done()) return true;
  absl::MutexLock lock(&mu_);
  // Under mu_, so that a completion either is seen by the condition below or
  // sees kWatched and takes mu_, which re-evaluates the condition.
  state_.fetch_or(kWatched, std::memory_order_acq_rel);
  return mu_.AwaitWithTimeout(absl::Condition(this, &FutureCore::DoneLocked),
                              timeout);
}

void FutureCore::WaitForOutcome() {
  WaitFor(absl::InfiniteDuration());
  retrieved_.store(true, std::memory_order_relaxed);
  if (phase() == kCancelled) throw CancelledError();
}

void FutureCore::BeginSet(const char* what) {
  const uint32_t s = state_.fetch_or(kCompleting, std::memory_order_acq_rel);
  if ((s & kCompleting) != 0 || IsDone(s & kPhaseMask)) {
    pyconc::internal::Misuse(
        "InvalidStateError",
        absl::StrCat(what, "() on a Future that is already ",
                     (s & kPhaseMask) == kCancelled ? "cancelled" : "done"));
  }
}

void FutureCore::SetException(std::exception_ptr exception) {
  BeginSet("set_exception");
  exception_ = std::move(exception);
  Finish();
}

void FutureCore::Finish() {
  uint32_t s = state_.load(std::memory_order_relaxed);
  while (!state_.compare_exchange_weak(
      s, (s & ~(kPhaseMask | kCompleting)) | kFinished,
      std::memory_order_acq_rel, std::memory_order_relaxed)) {
  }
  // Nobody waits and nothing is registered: no lock, no hand-off.
  if ((s & kWatched) != 0) Notify();
}

void FutureCore::Notify() {
  std::vector<Callback> callbacks;
  {
    absl::MutexLock lock(&mu_);
    callbacks.swap(callbacks_);
    for (const WaiterEntry& entry : waiters_) {
      entry.waiter->Add(entry.index, *this);
    }
  }  // Unlocking wakes the threads blocked in WaitFor().
  for (Callback& callback : callbacks) RunCallback(callback);
}

void FutureCore::RunCallback(Callback& callback) {
  try {
    callback(this);
  } catch (...) {
    threading::ExceptHook(
        {std::current_exception(), threading::CurrentThread()});
  }
}

void FutureCore::AddCallback(Callback callback) {
  {
    absl::MutexLock lock(&mu_);
    const uint32_t s = state_.fetch_or(kWatched, std::memory_order_acq_rel);
    if (!IsDone(s & kPhaseMask)) {
      callbacks_.push_back(std::move(callback));
      return;
    }
  }
  RunCallback(callback);
}

void FutureCore::AddWaiter(Waiter* waiter, size_t index) {
  absl::MutexLock lock(&mu_);
  const uint32_t s = state_.fetch_or(kWatched, std::memory_order_acq_rel);
  if (IsDone(s & kPhaseMask)) {
    waiter->Add(index, *this);
  } else {
    waiters_.push_back({waiter, index});
  }
}

void FutureCore::RemoveWaiter(Waiter* waiter) {
  absl::MutexLock lock(&mu_);
  std::erase_if(waiters_,
                [waiter](const WaiterEntry& e) { return e.waiter == waiter; });
}

}  // namespace pyconc::futures::internal
