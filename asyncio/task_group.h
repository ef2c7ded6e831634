// TaskGroup: Python 3.11+'s asyncio.TaskGroup, structured concurrency.
//
// clang-format off
//   TaskGroup tg;                             // async with TaskGroup() as tg:
//   co_await tg.Run([&]() -> Coroutine<void> {
//     Task<int> a = tg.CreateTask(Fetch(1));  //     tg.create_task(...)
//     Task<int> b = tg.CreateTask(Fetch(2));
//     co_return;
//   }());                                     // all done here
// clang-format on
//
// Where it matches Python (taskgroups.py, 3.13): Run returns only when the
// body and every task created in the group are done. The first task to fail
// cancels the other tasks and the body (by cancelling the task running the
// group, which Run uncancels again once everything has finished, so the code
// after Run goes on normally); an exception out of the body does the same.
// All the errors, the tasks' and the body's, come out together as one
// ExceptionGroup; a task that ends cancelled adds no error. When the task
// running the group is cancelled from elsewhere, the tasks are cancelled too,
// Run waits for them (their cleanup may await and may even be cancelled
// again), and then CancelledError propagates, unless there are errors, which
// take priority. Errors raised by tasks while they are being cancelled are
// collected like any other.
//
// Where C++ forced a difference: there is no `async with`, so the body is a
// Coroutine handed to Run (lazy, so it starts inside the group). Python's
// BaseExceptionGroup is ExceptionGroup here (a std::exception holding the
// exception_ptrs); the KeyboardInterrupt/SystemExit special case has no C++
// counterpart.
//
// At loop close, as every pending task: Run (asyncio.Run) cancels the tasks
// still pending when main returns, so a group waiting then shuts down as
// above, its tasks cleaning up. EventLoop::Close without that reports each
// pending task ("Task was destroyed but it is pending!") and destroys its
// frame, newest first: the group's tasks, then the task running the group.
// Their CancelledError handlers do not run, only destructors; Run neither
// returns nor throws, and the group goes with its task's frame.
//
// Misuse (RuntimeError): Run twice; CreateTask before Run, in a finished
// group, or in a group that is shutting down after a failure; destroying the
// group while its Run is pending (it is awaited by a task that outlives it).
//
// Thread-safety: the loop's thread only.

#ifndef PYCONC_ASYNCIO_TASK_GROUP_H_
#define PYCONC_ASYNCIO_TASK_GROUP_H_

#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "asyncio/coroutine.h"
#include "asyncio/future.h"
#include "asyncio/internal/loop_core.h"
#include "asyncio/task.h"

namespace pyconc::asyncio {

// Python's ExceptionGroup: several errors raised together.
class ExceptionGroup : public std::exception {
 public:
  ExceptionGroup(std::string message, std::vector<std::exception_ptr> errors);

  // "unhandled errors in a TaskGroup (2 sub-exceptions)".
  const char* what() const noexcept override { return what_.c_str(); }
  // Python's .message and .exceptions, in the order they were raised.
  const std::string& message() const { return message_; }
  const std::vector<std::exception_ptr>& exceptions() const {
    return exceptions_;
  }

 private:
  std::string message_;
  std::string what_;
  std::vector<std::exception_ptr> exceptions_;
};

class TaskGroup;

namespace internal {
// For the call graph (graph.h): `fn(task, owner)` for each pending task of
// each TaskGroup running on this thread, `owner` the task running the group
// (Python's future_add_to_awaited_by(task, parent) in TaskGroup).
void ForEachGroupTask(absl::FunctionRef<void(TaskBase*, TaskBase*)> fn);
}  // namespace internal

// Python's asyncio.TaskGroup; see the top of this file.
class TaskGroup {
 public:
  TaskGroup() = default;
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;
  // Misuse while Run is pending; see the top of this file.
  ~TaskGroup();

  // `async with self: await body`: runs `body` in the calling task, then
  // waits for every task of the group. Throws ExceptionGroup with the errors,
  // or CancelledError when the caller was cancelled from elsewhere.
  Coroutine<void> Run(Coroutine<void> body);

  // Python 3.15's cancel() (gh-108951): ends the group early without an
  // error. Cancels every task of the group not yet done and the task running
  // the group (the body), once; Run then returns normally instead of throwing
  // CancelledError, unless there are errors, or a cancel from elsewhere is
  // still pending. Before Run, the group is cancelled as Run enters it;
  // after Run, and called again, it does nothing.
  void Cancel();

  // Python's create_task(coro, name=...): a task of this group.
  template <typename T>
  Task<T> CreateTask(Coroutine<T> coro, TaskOptions options = {}) {
    CheckCanCreate();
    Task<T> task = internal::NewTask(*loop_, std::move(coro), options);
    Track(task);
    return task;
  }

 private:
  friend void internal::ForEachGroupTask(
      absl::FunctionRef<void(internal::TaskBase*, internal::TaskBase*)> fn);
  void CheckCanCreate() const;
  void Track(AnyTask task);
  void OnTaskDone(AnyTask& task);
  void Abort();

  internal::LoopCore* loop_ = nullptr;
  AnyTask parent_;
  absl::flat_hash_map<internal::TaskBase*, AnyTask> tasks_;
  std::vector<std::exception_ptr> errors_;
  std::unique_ptr<Future<void>> on_completed_;
  bool entered_ = false;
  bool running_ = false;  // Run's frame has started and is not gone yet.
  bool exiting_ = false;
  bool aborting_ = false;
  bool parent_cancel_requested_ = false;
  bool cancel_requested_ = false;  // Cancel() was called.
  // The groups whose Run is pending on this thread, for ForEachGroupTask.
  TaskGroup* prev_running_ = nullptr;
  TaskGroup* next_running_ = nullptr;
};

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_TASK_GROUP_H_
