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
    : children_(std::move(children)) {
  state_->total = children_.size();
  state_->return_exceptions = return_exceptions;
  if (children_.empty()) {
    state_->answered = true;
    return;
  }
  for (AnyFuture& child : children_) {
    // The callback keeps `state_` alive: a child may finish after Gather has
    // answered, and its exception is then marked retrieved.
    child.AddDoneCallback(
        [state = state_](AnyFuture& done) { ChildDone(*state, done); });
  }
}

void GatherWaiter::ChildDone(GatherState& state, AnyFuture& child) {
  ++state.finished;
  if (state.answered) {
    if (!child.Cancelled()) child.Exception();  // Mark it retrieved.
    return;
  }
  if (!state.return_exceptions) {
    if (child.Cancelled()) {
      state.error = CancelledErrorOf(child);
      state.Wake();
      return;
    }
    if (std::exception_ptr error = child.Exception()) {
      state.error = std::move(error);
      state.Wake();
      return;
    }
  }
  if (state.finished == state.total) {
    if (state.cancel_requested) {
      // Cancelling Gather propagates even with return_exceptions (bpo-32684).
      state.error =
          std::make_exception_ptr(CancelledError(state.cancel_message));
    }
    state.Wake();
  }
}

void GatherWaiter::await_resume() {
  ThrowIfCancelRequested();
  if (state_->error != nullptr) std::rethrow_exception(state_->error);
}

bool GatherWaiter::CancelWait(const std::string& message) {
  if (state_->answered) return false;
  bool cancelled = false;
  for (AnyFuture& child : children_) {
    if (child.Cancel(message)) cancelled = true;
  }
  if (cancelled) {
    state_->cancel_requested = true;
    state_->cancel_message = message;
  }
  return cancelled;
}

void GatherWaiter::ForEachAwaited(absl::FunctionRef<void(FutureBase*)> fn) {
  for (AnyFuture& child : children_) child.base()->ForEachAwaited(fn);
}

std::string GatherWaiter::DescribeWait() const {
  return absl::StrFormat("Gather(%d of %d done)", state_->finished,
                         state_->total);
}

}  // namespace pyconc::asyncio::internal
