#include "threading/pool/future.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "base/misuse.h"
#include "base/report.h"
#include "threading/thread/thread.h"

namespace pyconc::futures::internal {

namespace {

bool IsDone(uint32_t phase) {
  return phase == FutureCore::kCancelled || phase == FutureCore::kFinished;
}

}  // namespace

FutureCore::~FutureCore() {
  delete watchers_.load(std::memory_order_relaxed);
  if (exception_ != nullptr &&
      (state_.load(std::memory_order_relaxed) & kRetrieved) == 0) {
    const std::string report =
        absl::StrCat("pyconc: Future exception was never retrieved: ",
                     threading::DescribeException(exception_), "\n");
    Report(report);
  }
}

bool FutureCore::Cancel() {
  uint32_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if ((s & kCompleting) != 0) return false;
    const uint32_t phase = s & kPhaseMask;
    if (phase == kCancelled) return true;
    if (phase != kPending) return false;
    // A call that starts elsewhere: once the hook has stopped it, nobody
    // completes the Future but a Cancel().
    if ((s & kHooked) != 0 &&
        !watchers_.load(std::memory_order_acquire)->hook->TryCancel()) {
      return false;
    }
    if (state_.compare_exchange_weak(s, (s & ~kPhaseMask) | kCancelled,
                                     std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      break;
    }
  }
  if ((s & kWatched) != 0) Notify();
  return true;
}

bool FutureCore::Running() const {
  const uint32_t s = state_.load(std::memory_order_acquire);
  const uint32_t phase = s & kPhaseMask;
  if (phase == kRunning) return true;
  return phase == kPending && (s & kHooked) != 0 &&
         watchers_.load(std::memory_order_acquire)->hook->Started();
}

bool FutureCore::SetStartHook(std::shared_ptr<StartHook> hook) {
  Watchers& watchers = GetWatchers();
  uint32_t s = state_.load(std::memory_order_acquire);
  if ((s & kHooked) != 0) {
    pyconc::internal::Misuse("RuntimeError", "Future already has a start hook");
  }
  watchers.hook = std::move(hook);
  for (;;) {
    const uint32_t phase = s & kPhaseMask;
    if (phase == kCancelled) return false;
    if (phase != kPending || (s & (kCompleting | kHooked)) != 0) {
      pyconc::internal::Misuse("RuntimeError", "Future in unexpected state");
    }
    if (state_.compare_exchange_weak(s, s | kHooked, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      return true;
    }
  }
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

FutureCore::Watchers& FutureCore::GetWatchers() const {
  Watchers* watchers = watchers_.load(std::memory_order_acquire);
  if (watchers != nullptr) return *watchers;
  auto* fresh = new Watchers;
  if (watchers_.compare_exchange_strong(watchers, fresh,
                                        std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
    return *fresh;
  }
  delete fresh;  // Another thread installed one first.
  return *watchers;
}

bool FutureCore::WaitFor(absl::Duration timeout) const {
  if (Done()) return true;
  Watchers& watchers = GetWatchers();
  absl::MutexLock lock(&watchers.mu);
  // Under the lock, so that a completion either is seen by the condition below
  // or sees kWatched and takes the lock, which re-evaluates the condition.
  state_.fetch_or(kWatched, std::memory_order_acq_rel);
  return watchers.mu.AwaitWithTimeout(absl::Condition(this, &FutureCore::Done),
                                      timeout);
}

void FutureCore::WaitForOutcome() {
  WaitFor(absl::InfiniteDuration());
  if ((state_.load(std::memory_order_relaxed) & kRetrieved) == 0) {
    state_.fetch_or(kRetrieved, std::memory_order_relaxed);
  }
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
  // kWatched was set after the Watchers were installed.
  Watchers& watchers = *watchers_.load(std::memory_order_acquire);
  std::vector<Callback> callbacks;
  {
    absl::MutexLock lock(&watchers.mu);
    callbacks.swap(watchers.callbacks);
    for (const WaiterEntry& entry : watchers.waiters) {
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
    Watchers& watchers = GetWatchers();
    absl::MutexLock lock(&watchers.mu);
    const uint32_t s = state_.fetch_or(kWatched, std::memory_order_acq_rel);
    if (!IsDone(s & kPhaseMask)) {
      watchers.callbacks.push_back(std::move(callback));
      return;
    }
  }
  RunCallback(callback);
}

void FutureCore::AddWaiter(Waiter* waiter, size_t index) {
  Watchers& watchers = GetWatchers();
  absl::MutexLock lock(&watchers.mu);
  const uint32_t s = state_.fetch_or(kWatched, std::memory_order_acq_rel);
  if (IsDone(s & kPhaseMask)) {
    waiter->Add(index, *this);
  } else {
    watchers.waiters.push_back({waiter, index});
  }
}

void FutureCore::RemoveWaiter(Waiter* waiter) {
  Watchers& watchers = GetWatchers();
  absl::MutexLock lock(&watchers.mu);
  std::erase_if(watchers.waiters,
                [waiter](const WaiterEntry& e) { return e.waiter == waiter; });
}

}  // namespace pyconc::futures::internal
