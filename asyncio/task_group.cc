#include "asyncio/task_group.h"

#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_format.h"
#include "asyncio/errors.h"
#include "base/misuse.h"

namespace pyconc::asyncio {
namespace {
// The head of this thread's list of groups whose Run is pending.
constinit thread_local TaskGroup* running_groups = nullptr;
}  // namespace

namespace internal {
void ForEachGroupTask(absl::FunctionRef<void(TaskBase*, TaskBase*)> fn) {
  for (TaskGroup* g = running_groups; g != nullptr; g = g->next_running_) {
    for (auto& [base, task] : g->tasks_) {
      if (!task.Done()) fn(base, g->parent_.base());
    }
  }
}
}  // namespace internal

ExceptionGroup::ExceptionGroup(std::string message,
                               std::vector<std::exception_ptr> errors)
    : message_(std::move(message)),
      what_(absl::StrFormat("%s (%d sub-exception%s)", message_, errors.size(),
                            errors.size() == 1 ? "" : "s")),
      exceptions_(std::move(errors)) {}

TaskGroup::~TaskGroup() {
  if (running_) {
    pyconc::internal::Misuse("RuntimeError",
                             "TaskGroup destroyed while its Run is pending");
  }
}

void TaskGroup::CheckCanCreate() const {
  if (!entered_) {
    pyconc::internal::Misuse("RuntimeError", "TaskGroup has not been entered");
  }
  if (exiting_ && tasks_.empty()) {
    pyconc::internal::Misuse("RuntimeError", "TaskGroup is finished");
  }
  if (aborting_) {
    pyconc::internal::Misuse("RuntimeError", "TaskGroup is shutting down");
  }
}

void TaskGroup::Track(AnyTask task) {
  if (task.Done()) {  // Eager and already finished: Python's shortcut.
    OnTaskDone(task);
    return;
  }
  internal::TaskBase* key = task.base();
  tasks_.emplace(key, task);
  task.AddDoneCallback([this](AnyTask& done) { OnTaskDone(done); });
}

void TaskGroup::Abort() {
  aborting_ = true;
  for (auto& [base, task] : tasks_) {
    if (!task.Done()) task.Cancel();
  }
}

void TaskGroup::Cancel() {
  if (cancel_requested_) return;
  cancel_requested_ = true;
  if (!entered_) return;                   // Run cancels on entry.
  if (exiting_ && tasks_.empty()) return;  // Finished.
  if (!aborting_) Abort();
  if (!parent_cancel_requested_) {
    parent_cancel_requested_ = true;
    parent_.Cancel();
  }
}

void TaskGroup::OnTaskDone(AnyTask& task) {
  tasks_.erase(task.base());
  if (on_completed_ != nullptr && tasks_.empty() && !on_completed_->Done()) {
    on_completed_->SetResult();
  }
  if (task.Cancelled()) return;
  std::exception_ptr error = task.Exception();
  if (error == nullptr) return;
  errors_.push_back(error);
  if (parent_.Done()) {
    internal::Report(loop_, {.message = "Task error in a TaskGroup whose "
                                        "parent task is done",
                             .exception = error,
                             .source = task.Describe()});
    return;
  }
  if (!aborting_ && !parent_cancel_requested_) {
    // Cancel what the body is awaiting; Run uncancels the parent later.
    Abort();
    parent_cancel_requested_ = true;
    parent_.Cancel();
  }
}

Coroutine<void> TaskGroup::Run(Coroutine<void> body) {
  if (entered_) {
    pyconc::internal::Misuse("RuntimeError",
                             "TaskGroup has already been entered");
  }
  std::optional<AnyTask> parent = CurrentTask();
  if (!parent) {
    pyconc::internal::Misuse("RuntimeError",
                             "TaskGroup cannot determine the parent task");
  }
  parent_ = *parent;
  loop_ = &internal::RunningLoopOrDie("TaskGroup");
  entered_ = true;
  running_ = true;
  // Cleared as the frame goes: when Run ends, or when the frame is destroyed
  // unfinished, with its task, at loop close.
  next_running_ = running_groups;
  if (next_running_ != nullptr) next_running_->prev_running_ = this;
  running_groups = this;
  absl::Cleanup run_frame_gone = [this] {
    running_ = false;
    if (prev_running_ != nullptr) {
      prev_running_->next_running_ = next_running_;
    } else {
      running_groups = next_running_;
    }
    if (next_running_ != nullptr) next_running_->prev_running_ = prev_running_;
    prev_running_ = next_running_ = nullptr;
  };
  if (cancel_requested_) {  // Cancel() before Run: cancelled on entry.
    cancel_requested_ = false;
    Cancel();
  }

  std::exception_ptr body_error;
  try {
    co_await std::move(body);
  } catch (...) {
    body_error = std::current_exception();
  }
  // Python's __aexit__.
  exiting_ = true;
  std::exception_ptr propagate_cancellation;
  if (body_error != nullptr && internal::IsCancelledError(body_error)) {
    propagate_cancellation = body_error;
  }
  if (body_error != nullptr && !aborting_) Abort();
  // A loop: the wait may be cancelled again and again while the parent is
  // being cancelled.
  while (!tasks_.empty()) {
    on_completed_ = std::make_unique<Future<void>>(*loop_);
    Future<void> completed = *on_completed_;
    std::exception_ptr cancelled;
    try {
      co_await completed;
    } catch (const CancelledError&) {
      cancelled = std::current_exception();
    }
    if (cancelled != nullptr && !aborting_) {
      propagate_cancellation = cancelled;
      Abort();
    }
    on_completed_.reset();
  }
  if (parent_cancel_requested_ && parent_.Uncancel() == 0) {
    // No cancellation left pending: the one the group made is spent.
    propagate_cancellation = nullptr;
  }
  if (propagate_cancellation != nullptr && errors_.empty()) {
    std::rethrow_exception(propagate_cancellation);
  }
  if (body_error != nullptr && !internal::IsCancelledError(body_error)) {
    errors_.push_back(body_error);
  }
  if (!errors_.empty()) {
    // 3.13 (gh-116720): the errors replace a cancellation from outside the
    // group; uncancel and cancel again so that it is not lost: the count stays
    // and the parent's next await is cancelled.
    if (parent_.Cancelling() > 0) {
      parent_.Uncancel();
      parent_.Cancel();
    }
    throw ExceptionGroup("unhandled errors in a TaskGroup", std::move(errors_));
  }
}

}  // namespace pyconc::asyncio
