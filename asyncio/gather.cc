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
    : GatherWaiter(
          children.size(),
          [&children](size_t i) { return std::move(children[i]); },
          return_exceptions) {}

GatherWaiter::GatherWaiter(size_t n, absl::FunctionRef<AnyFuture(size_t)> child,
                           bool return_exceptions) {
  GatherState& state = *state_;
  state.return_exceptions = return_exceptions;
  if (n == 0) {
    state.answered = true;
    return;
  }
  state.children.reserve(n);
  state.nodes = std::make_unique<GatherNode[]>(n);
  for (size_t i = 0; i < n; ++i) {
    state.children.push_back(child(i));
    GatherNode& node = state.nodes[i];
    node.state = &state;
    node.index = i;
    node.waiting = true;
    ++state.waiting;
    state.children[i].base()->AddDoneNode(&node);
  }
}

GatherWaiter::~GatherWaiter() {
  GatherState& state = *state_;
  for (size_t i = 0; state.waiting > 0 && i < state.children.size(); ++i) {
    GatherNode& node = state.nodes[i];
    AnyFuture& child = state.children[i];
    // A node the child no longer holds is queued: it runs, or is dropped
    // with the loop, later.
    if (!node.waiting || !child.base()->RemoveDoneNode(&node)) continue;
    state.NodeDone(node);
    child.AddDoneCallback(MarkRetrieved);
  }
  if (state.waiting > 0) state.self = state_;
}

void GatherNode::RunReady() {
  GatherState& gather = *state;
  AnyFuture& child = gather.children[index];
  if (gather.self == nullptr) {
    GatherWaiter::ChildDone(gather, child);
  } else {  // The awaiter is gone.
    GatherWaiter::MarkRetrieved(child);
  }
  gather.NodeDone(*this);  // Last: it may destroy the state, and this node.
}

void GatherNode::DropReady() { state->NodeDone(*this); }

std::string GatherNode::DescribeReady() const {
  return absl::StrFormat("Gather's callback for child %d of %d", index + 1,
                         state->children.size());
}

void GatherWaiter::MarkRetrieved(AnyFuture& child) {
  if (!child.Cancelled()) child.Exception();
}

void GatherWaiter::ChildDone(GatherState& state, AnyFuture& child) {
  ++state.finished;
  if (state.answered) {
    MarkRetrieved(child);
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
  if (state.finished == state.children.size()) {
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
  for (AnyFuture& child : state_->children) {
    if (child.Cancel(message)) cancelled = true;
  }
  if (cancelled) {
    state_->cancel_requested = true;
    state_->cancel_message = message;
  }
  return cancelled;
}

void GatherWaiter::ForEachAwaited(absl::FunctionRef<void(FutureBase*)> fn) {
  for (AnyFuture& child : state_->children) child.base()->ForEachAwaited(fn);
}

std::string GatherWaiter::DescribeWait() const {
  return absl::StrFormat("Gather(%d of %d done)", state_->finished,
                         state_->children.size());
}

}  // namespace pyconc::asyncio::internal
