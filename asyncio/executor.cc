#include "asyncio/executor.h"

namespace pyconc::asyncio::internal {

void TaskCancelLink::Request() {
  absl::MutexLock lock(&mu_);
  if (loop_ == nullptr) return;
  loop_->TryCallSoonThreadsafe(
      [self = shared_from_this()] { self->CancelOnLoop(); });
}

void TaskCancelLink::Detach() {
  absl::MutexLock lock(&mu_);
  loop_ = nullptr;
}

void TaskCancelLink::CancelOnLoop() {
  {
    absl::MutexLock lock(&mu_);
    if (loop_ == nullptr) return;
  }
  // Detach() runs on this thread too: the task stays attached, and alive,
  // after the lock is released.
  task_->Cancel("");
}

}  // namespace pyconc::asyncio::internal
