#include "asyncio/timeouts.h"

#include <cstdint>
#include <optional>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "asyncio/errors.h"
#include "asyncio/task.h"
#include "base/misuse.h"

namespace pyconc::asyncio {
namespace internal {

Coroutine<void> CancelAndWait(AnyFuture task) {
  // The caller waits on a future of its own, as Python's does: cancelling the
  // caller cancels that future, not the task a second time.
  Future<void> waiter;
  const uint64_t id = task.AddDoneCallback([waiter](AnyFuture&) mutable {
    if (!waiter.Done()) waiter.SetResult();
  });
  absl::Cleanup remove_callback = [&task, id] { task.RemoveDoneCallback(id); };
  task.Cancel();
  co_await waiter;
}

}  // namespace internal

// Python's _State values, as its messages name them.
const char* Timeout::StateName(State state) {
  switch (state) {
    case State::kCreated:
      return "created";
    case State::kEntered:
      return "active";
    case State::kExpiring:
      return "expiring";
    case State::kExpired:
      return "expired";
    case State::kExited:
      return "finished";
  }
  return "unknown";
}

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
                                 ? std::string("Timeout has not been entered")
                                 : absl::StrCat("Cannot change state of ",
                                                StateName(state_), " Timeout"));
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
