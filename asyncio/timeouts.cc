#include "asyncio/timeouts.h"

#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "asyncio/errors.h"
#include "asyncio/task.h"
#include "base/misuse.h"

namespace pyconc::asyncio {
namespace internal {

absl::Status TimeoutErrorStatus() {
  return absl::DeadlineExceededError("TimeoutError");
}

Coroutine<void> CancelAndWait(AnyTask task) {
  std::optional<AnyTask> self = CurrentTask();
  const int before = self ? self->Cancelling() : 0;
  task.Cancel();
  try {
    co_await task;
  } catch (...) {
    // The task's own outcome is the caller's to read; a cancel of the caller
    // while waiting is not.
    if (self && self->Cancelling() > before) throw;
  }
}

}  // namespace internal

Timeout::Timeout(absl::Duration delay)
    : when_(delay == absl::InfiniteDuration()
                ? absl::InfiniteFuture()
                : absl::FromUnixNanos(internal::LoopCore::NowNs()) + delay) {}

Timeout::Timeout(absl::Time when) : when_(when) {}

Timeout::~Timeout() {
  if (loop_ != nullptr) loop_->RemoveTimer(this);
}

void Timeout::Reschedule(absl::Time when) {
  if (state_ != State::kEntered) {
    pyconc::internal::Misuse("RuntimeError",
                             state_ == State::kCreated
                                 ? "Timeout has not been entered"
                                 : "Cannot change state of a finished or "
                                   "expiring Timeout");
  }
  when_ = when;
  loop_->RemoveTimer(this);
  if (when == absl::InfiniteFuture()) return;
  // A deadline already past fires in the loop's next iteration (call_soon).
  loop_->AddTimer(this, absl::ToUnixNanos(when));
}

void Timeout::Enter() {
  if (state_ != State::kCreated) {
    pyconc::internal::Misuse("RuntimeError",
                             "Timeout has already been entered");
  }
  std::optional<AnyTask> task = CurrentTask();
  if (!task) {
    pyconc::internal::Misuse("RuntimeError",
                             "Timeout should be used inside a task");
  }
  loop_ = &internal::RunningLoopOrDie("Timeout");
  task_ = *task;
  cancelling_ = task_.Cancelling();
  state_ = State::kEntered;
  Reschedule(when_);
}

bool Timeout::Exit(bool cancelled_error) {
  loop_->RemoveTimer(this);
  if (state_ == State::kExpiring) {
    state_ = State::kExpired;
    return task_.Uncancel() <= cancelling_ && cancelled_error;
  }
  if (state_ == State::kEntered) state_ = State::kExited;
  return false;
}

void Timeout::Fire() {
  task_.Cancel();
  state_ = State::kExpiring;
}

}  // namespace pyconc::asyncio
