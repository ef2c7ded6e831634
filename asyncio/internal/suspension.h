// The contract between a task and the awaitables it suspends on.
//
// A task runs its coroutine until an awaitable (a Future, a Task, Sleep, a
// socket operation) suspends it. The awaitable then records, in the task's
// TaskFrame, the coroutine to resume and itself as the Waitable the task is
// suspended on (Python's Task._fut_waiter), and arranges to Schedule() the
// task when it completes. Task::Cancel() cancels the Waitable, as Python's
// Task.cancel() cancels _fut_waiter. When the step runs, the awaitable's
// await_resume first calls ThrowIfCancelRequested(), which throws
// CancelledError if the task was cancelled while the wake-up was already on
// its way (Python's _must_cancel).
//
// Thread-safety: the loop's thread only.

#ifndef PYCONC_ASYNCIO_INTERNAL_SUSPENSION_H_
#define PYCONC_ASYNCIO_INTERNAL_SUSPENSION_H_

#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "asyncio/internal/loop_core.h"
#include "asyncio/internal/schedule.h"

namespace pyconc::asyncio::internal {

class FutureBase;
class TaskBase;

// What a task can be suspended on.
class Waitable {
 public:
  // Python's `fut_waiter.cancel(msg)`: true when the wait is now cancelled
  // and the task will be woken to get CancelledError(message); false when the
  // wait is already complete (or cannot be cancelled) and the task must be
  // cancelled at its next step instead.
  virtual bool CancelWait(const std::string& message) = 0;
  // The waiting task is being destroyed (its loop closed while it was
  // pending): forget it, and never schedule it.
  virtual void AbandonWait(TaskBase* task) = 0;
  // For task dumps: "Sleep(100ms left) at tool.cc:12", "Task 'Task-3'".
  virtual std::string DescribeWait() const = 0;
  // For the call graph (graph.h): the futures a task suspended here awaits
  // (a Future itself, a Gather's or a Wait's futures, a Shield's inner).
  virtual void ForEachAwaited(absl::FunctionRef<void(FutureBase*)>) {}

 protected:
  ~Waitable() = default;
};

// What few tasks need, allocated on first use: most tasks are never named,
// cancelled with a message or traced, and a task's size is the memory of every
// sleeping task.
struct TaskExtras {
  uint64_t id = 0;                  // The task's number, moved here.
  std::optional<std::string> name;  // Unset: "Task-<id>".
  std::string cancel_message;
  int num_cancels_requested = 0;  // Python's Task._num_cancels_requested.
  // The timeline's open "await" span and pending wake flow (a trace recorded
  // their starts), and how many flows the task has had.
  bool await_traced = false;
  bool wake_traced = false;
  uint32_t wakes_traced = 0;
};

// A task's number (Python's "Task-N", counted per loop) until it has
// TaskExtras, then those extras, which hold the number: one word for both,
// since few tasks ever need extras.
class IdOrExtras {
 public:
  explicit IdOrExtras(uint64_t id) : word_(id << 1 | 1) {}
  IdOrExtras(const IdOrExtras&) = delete;
  IdOrExtras& operator=(const IdOrExtras&) = delete;
  ~IdOrExtras() { delete get(); }

  uint64_t id() const { return has_extras() ? get()->id : word_ >> 1; }
  // The extras, or null when there are none yet.
  TaskExtras* get() const {
    return has_extras() ? reinterpret_cast<TaskExtras*>(word_) : nullptr;
  }
  TaskExtras& GetOrMake() {
    if (!has_extras()) {
      auto* extras = new TaskExtras;
      extras->id = word_ >> 1;
      word_ = reinterpret_cast<uintptr_t>(extras);
    }
    return *get();
  }

 private:
  // A TaskExtras is aligned, so its address has a clear low bit.
  bool has_extras() const { return (word_ & 1) == 0; }
  uintptr_t word_;
};

// Where a task's next step resumes, and two flags of that step, in one word
// (every task's size is the memory of a sleeping task): the coroutine to
// resume is one of the task's own, whose frame is at least 16-byte aligned
// (kFrameAlign in coroutine.h), so its address leaves the low bits free.
class ResumePoint {
 public:
  std::coroutine_handle<> handle() const {
    return std::coroutine_handle<>::from_address(
        reinterpret_cast<void*>(word_ & ~kFlags));
  }
  // Sets the coroutine; a pending cancellation stays requested.
  void Set(std::coroutine_handle<> handle, bool promise_unknown) {
    word_ = reinterpret_cast<uintptr_t>(handle.address()) |
            (word_ & kThrowCancel) | (promise_unknown ? kPromiseUnknown : 0);
  }
  // Its promise is over-aligned: not at PromiseAt's offset.
  bool promise_unknown() const { return (word_ & kPromiseUnknown) != 0; }
  // The step must throw CancelledError where the coroutine resumes.
  bool throw_cancel() const { return (word_ & kThrowCancel) != 0; }
  void set_throw_cancel(bool on) {
    word_ = on ? word_ | kThrowCancel : word_ & ~kThrowCancel;
  }

 private:
  static constexpr uintptr_t kPromiseUnknown = 1;
  static constexpr uintptr_t kThrowCancel = 2;
  static constexpr uintptr_t kFlags = kPromiseUnknown | kThrowCancel;
  uintptr_t word_ = 0;
};

class TaskFrame;
// The task whose step runs on this thread, null between steps. A coroutine
// runs only inside a step of its task, so this is the task of every
// coroutine that runs (an await finds its task here, not in its frame).
inline constinit thread_local TaskFrame* running_task_frame = nullptr;
inline TaskFrame* RunningTaskFrame() { return running_task_frame; }

// The part of a task that awaitables use.
class TaskFrame : public ReadyNode {
 public:
  explicit TaskFrame(uint64_t id) : extras_(id) {}

  // The task's loop (its Future's, kept once for both).
  LoopCore* task_loop() const;
  // Records where the task stopped; `resume` runs when the task is scheduled.
  // Its promise is the innermost coroutine of the task's call graph, found
  // from resume_ (see PromiseAt in coroutine.h) unless it is over-aligned.
  template <typename P>
  void SuspendOn(std::coroutine_handle<P> resume, Waitable* on) {
    resume_.Set(resume, /*promise_unknown=*/alignof(P) > 16);
    set_waiting_on(on);
  }
  // The task's own coroutine returned: its step has nothing to resume.
  void TopReturned() { resume_.Set(nullptr, false); }
  // The coroutine the task is suspended in (the one that awaits what it
  // waits on), or null when its promise is over-aligned (see SuspendOn).
  std::coroutine_handle<> suspended_in() const {
    return resume_.promise_unknown() ? nullptr : resume_.handle();
  }
  // Puts the task on its loop's ready queue (once per suspension).
  void Wake() { task_loop()->Schedule(this); }
  // What the task is suspended on (Python's Task._fut_waiter), until it is
  // queued to resume: null from then on, and while it runs. It lives in the
  // ready queue's link word, which a suspended task does not use (a task's
  // size is the memory of every sleeping task).
  Waitable* waiting_on() const { return static_cast<Waitable*>(own_pointer()); }
  // First thing in await_resume after a suspension.
  void ThrowIfCancelRequested() {
    if (resume_.throw_cancel()) [[unlikely]]
      ThrowCancel();
  }

  // Python's Task._cancel_message: the message of the latest Cancel(msg),
  // which awaitables cancelled on the task's behalf throw with.
  const std::string& cancel_message() const {
    static const std::string* const kEmpty = new std::string;
    return extras_.get() == nullptr ? *kEmpty : extras_.get()->cancel_message;
  }
  void set_cancel_message(const std::string& message) {
    if (message.empty() && extras_.get() == nullptr) return;
    extras().cancel_message = message;
  }

 protected:
  ~TaskFrame() = default;
  [[noreturn]] void ThrowCancel();
  TaskExtras& extras() { return extras_.GetOrMake(); }

  void set_waiting_on(Waitable* on) { set_own_pointer(on); }

  ResumePoint resume_;
  IdOrExtras extras_;
};

}  // namespace pyconc::asyncio::internal

#endif  // PYCONC_ASYNCIO_INTERNAL_SUSPENSION_H_
