#include "asyncio/gather.h"

#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "asyncio/errors.h"
#include "asyncio/task.h"

namespace pyconc::asyncio::internal {
namespace {

// The CancelledError a cancelled task or future holds.
std::exception_ptr CancelledErrorOf(const AnyFuture& task) {
  try {
    task.Exception();
  } catch (...) {
    return std::current_exception();
  }
  return std::make_exception_ptr(CancelledError());
}

}  // namespace

GatherWaiter::GatherWaiter(std::vector<AnyFuture> children,
                           bool return_exceptions)
    : children_(std::move(children)), shared_(std::make_shared<Shared>()) {
  shared_->total = children_.size();
  shared_->return_exceptions = return_exceptions;
  if (children_.empty()) {
    shared_->answered = true;
    return;
  }
  for (AnyFuture& child : children_) {
    // The callback keeps `shared_` alive: a child may finish after Gather has
    // answered, and its exception is then marked retrieved.
    child.AddDoneCallback(
        [shared = shared_](AnyFuture& done) { ChildDone(*shared, done); });
  }
}

GatherWaiter::~GatherWaiter() { shared_->task = nullptr; }

void GatherWaiter::ChildDone(Shared& shared, AnyFuture& child) {
  ++shared.finished;
  if (shared.answered) {
    if (!child.Cancelled()) child.Exception();  // Mark it retrieved.
    return;
  }
  if (!shared.return_exceptions) {
    if (child.Cancelled()) {
      shared.error = CancelledErrorOf(child);
      Answer(shared);
      return;
    }
    if (std::exception_ptr error = child.Exception()) {
      shared.error = std::move(error);
      Answer(shared);
      return;
    }
  }
  if (shared.finished == shared.total) {
    if (shared.cancel_requested) {
      // Cancelling Gather propagates even with return_exceptions (bpo-32684).
      shared.error =
          std::make_exception_ptr(CancelledError(shared.cancel_message));
    }
    Answer(shared);
  }
}

void GatherWaiter::Answer(Shared& shared) {
  shared.answered = true;
  if (shared.task != nullptr) shared.task->Wake();
}

void GatherWaiter::await_resume() {
  if (shared_->task != nullptr) shared_->task->ThrowIfCancelRequested();
  if (shared_->error != nullptr) std::rethrow_exception(shared_->error);
}

bool GatherWaiter::CancelWait(const std::string& message) {
  if (shared_->answered) return false;
  bool cancelled = false;
  for (AnyFuture& child : children_) {
    if (child.Cancel(message)) cancelled = true;
  }
  if (cancelled) {
    shared_->cancel_requested = true;
    shared_->cancel_message = message;
  }
  return cancelled;
}

void GatherWaiter::AbandonWait(TaskBase*) { shared_->task = nullptr; }

void GatherWaiter::ForEachAwaited(absl::FunctionRef<void(FutureBase*)> fn) {
  for (AnyFuture& child : children_) child.base()->ForEachAwaited(fn);
}

std::string GatherWaiter::DescribeWait() const {
  return absl::StrFormat("Gather(%d of %d done)", shared_->finished,
                         shared_->total);
}

}  // namespace pyconc::asyncio::internal
