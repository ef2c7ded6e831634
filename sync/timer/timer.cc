#include "sync/timer/timer.h"

#include "sync/internal/timeout.h"

namespace pyconc::sync {

Timer::Timer(Bound, absl::Duration interval,
             absl::AnyInvocable<void() &&> function)
    : interval_(interval), function_(std::move(function)) {
  internal::CheckTimeout(interval_);
}

Timer::~Timer() {
  Cancel();
  if (IsAlive()) Join();
}

void Timer::Cancel() { finished_.Set(); }

void Timer::Run() {
  // Waiting on the event, not sleeping, is what lets Cancel() end the thread at
  // once.
  if (!finished_.Wait(interval_)) std::move(function_)();
  finished_.Set();
}

}  // namespace pyconc::sync
