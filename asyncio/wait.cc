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
    : futures_(std::move(futures)), shared_(std::make_shared<Shared>()) {
  shared_->remaining = futures_.size();
  shared_->return_when = options.return_when;
  shared_->loop = &RunningLoopOrDie("Wait");
  if (options.timeout != absl::InfiniteDuration()) {
    shared_->loop->AddTimer(
        shared_.get(),
        LoopCore::NowNs() + absl::ToInt64Nanoseconds(options.timeout));
  }
  callback_ids_.reserve(futures_.size());
  for (AnyFuture& future : futures_) {
    // Python's _on_completion.
    callback_ids_.push_back(
        future.AddDoneCallback([shared = shared_](AnyFuture& done) {
          --shared->remaining;
          if (shared->remaining == 0 ||
              shared->return_when == ReturnWhen::kFirstCompleted ||
              (shared->return_when == ReturnWhen::kFirstException &&
               !done.Cancelled() && done.Exception() != nullptr)) {
            shared->Answer();
          }
        }));
  }
}

WaitWaiter::~WaitWaiter() {
  shared_->loop->RemoveTimer(shared_.get());
  shared_->task = nullptr;
  for (size_t i = 0; i < futures_.size(); ++i) {
    futures_[i].RemoveDoneCallback(callback_ids_[i]);
  }
}

void WaitWaiter::Shared::Answer() {
  if (answered) return;
  answered = true;
  loop->RemoveTimer(this);
  if (task != nullptr) task->Wake();
}

void WaitWaiter::await_resume() {
  if (shared_->task != nullptr) shared_->task->ThrowIfCancelRequested();
  if (shared_->cancelled) throw CancelledError(shared_->cancel_message);
}

bool WaitWaiter::CancelWait(const std::string& message) {
  if (shared_->answered) return false;
  // Python cancels the waiter future only; the tasks are left alone.
  shared_->cancelled = true;
  shared_->cancel_message = message;
  shared_->Answer();
  return true;
}

void WaitWaiter::AbandonWait(TaskBase*) { shared_->task = nullptr; }

void WaitWaiter::ForEachAwaited(absl::FunctionRef<void(FutureBase*)> fn) {
  for (AnyFuture& future : futures_) future.base()->ForEachAwaited(fn);
}

std::string WaitWaiter::DescribeWait() const {
  return absl::StrFormat("Wait(%d futures, %d not done)", futures_.size(),
                         shared_->remaining);
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
