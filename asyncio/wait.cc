#include "asyncio/wait.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "asyncio/errors.h"
#include "base/misuse.h"

namespace pyconc::asyncio::internal {

void EmptyWait(const char* what) {
  pyconc::internal::Misuse(
      "ValueError",
      absl::StrFormat("%s: Set of Tasks/Futures is empty.", what));
}

WaitWaiter::WaitWaiter(std::vector<AnyFuture> futures,
                       const WaitOptions& options)
    : futures_(std::move(futures)) {
  state_->remaining = futures_.size();
  state_->return_when = options.return_when;
  state_->loop = &RunningLoopOrDie("Wait");
  if (options.timeout != absl::InfiniteDuration()) {
    state_->loop->AddTimer(
        state_.get(),
        LoopCore::NowNs() + absl::ToInt64Nanoseconds(options.timeout));
  }
  callback_ids_.reserve(futures_.size());
  for (AnyFuture& future : futures_) {
    // Python's _on_completion.
    callback_ids_.push_back(
        future.AddDoneCallback([state = state_](AnyFuture& done) {
          --state->remaining;
          if (state->remaining == 0 ||
              state->return_when == ReturnWhen::kFirstCompleted ||
              (state->return_when == ReturnWhen::kFirstException &&
               !done.Cancelled() && done.Exception() != nullptr)) {
            state->Answer();
          }
        }));
  }
}

WaitWaiter::~WaitWaiter() {
  state_->loop->RemoveTimer(state_.get());
  for (size_t i = 0; i < futures_.size(); ++i) {
    futures_[i].RemoveDoneCallback(callback_ids_[i]);
  }
}

void WaitState::Answer() {
  if (answered) return;
  loop->RemoveTimer(this);
  Wake();
}

void WaitWaiter::await_resume() {
  ThrowIfCancelRequested();
  if (state_->cancelled) throw CancelledError(state_->cancel_message);
}

bool WaitWaiter::CancelWait(const std::string& message) {
  if (state_->answered) return false;
  // Python cancels the waiter future only; the tasks are left alone.
  state_->cancelled = true;
  state_->cancel_message = message;
  state_->Answer();
  return true;
}

void WaitWaiter::ForEachAwaited(absl::FunctionRef<void(FutureBase*)> fn) {
  for (AnyFuture& future : futures_) future.base()->ForEachAwaited(fn);
}

std::string WaitWaiter::DescribeWait() const {
  return absl::StrFormat("Wait(%d futures, %d not done)", futures_.size(),
                         state_->remaining);
}

void AsCompletedState::Fire() {
  timed_out = true;
  if (signal != nullptr && !signal->Done()) signal->SetResult();
}

void AsCompletedState::Push(size_t index) {
  done.push_back(index);
  if (signal != nullptr && !signal->Done()) signal->SetResult();
}

}  // namespace pyconc::asyncio::internal
