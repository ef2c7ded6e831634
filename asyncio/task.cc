#include "asyncio/task.h"

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "asyncio/errors.h"
#include "base/misuse.h"
#include "base/trace.h"

namespace pyconc::asyncio {
namespace internal {

LoopCore* TaskFrame::task_loop() const {
  // Every TaskFrame is the TaskFrame of a TaskBase.
  return static_cast<const TaskBase*>(this)->loop_;
}

void TaskFrame::ThrowCancel() {
  resume_.set_throw_cancel(false);
  throw CancelledError(cancel_message());
}

TaskBase::TaskBase(LoopCore* loop, std::coroutine_handle<> top,
                   PromiseBase* promise, std::string_view name)
    : FutureBase(loop), TaskFrame(loop->NextTaskId()) {
  if (!name.empty()) extras().name.emplace(name);
  Ref();  // The loop's, until the task is done: pending tasks stay alive.
  promise->set_started();
  resume_.Set(top, /*promise_unknown=*/false);
}

void TaskBase::Start(bool eager) {
  if (trace::Enabled()) trace::AsyncBegin("asyncio", name(), TraceId());
  if (eager) {
    RunReady();  // Python's __eager_start: current task while it runs.
  } else {
    loop_->Schedule(this);  // Python: loop.call_soon(self.__step).
  }
}

TaskBase::~TaskBase() {
  if (log_traceback_) {
    log_traceback_ = false;
    Report(loop_, {"Task exception was never retrieved", stored_exception(),
                   Describe()});
  }
  // Destroy() destroyed the frame already: Top() is gone with TaskState.
}

std::string TaskBase::name() const {
  const TaskExtras* extras = extras_.get();
  if (extras != nullptr && extras->name.has_value()) return *extras->name;
  return absl::StrCat("Task-", id());
}

bool TaskBase::Cancel(const std::string& message) {
  log_traceback_ = false;
  if (done()) return false;
  ++extras().num_cancels_requested;
  // Python leaves _fut_waiter set: it may be a task that swallows the
  // cancellation, to be cancelled again later.
  if (Waitable* on = TaskFrame::waiting_on();
      on != nullptr && on->CancelWait(message)) {
    if (!wait_cancelled_) set_cancel_message(message);
    wait_cancelled_ = true;
    return true;
  }
  must_cancel_ = true;
  // Once the wait is cancelled, its CancelledError (the first message) is the
  // one the task gets, as in Python's __step; a later message does not replace
  // it.
  if (!wait_cancelled_) set_cancel_message(message);
  return true;
}

int TaskBase::Uncancel() {
  if (cancelling() > 0 && --extras_.get()->num_cancels_requested == 0) {
    must_cancel_ = false;
  }
  return cancelling();
}

void TaskBase::RunReady() {
  if (!trace::Enabled()) [[likely]] {
    Step();
    return;
  }
  RunReadyTraced();
}

void TaskBase::RunReadyTraced() {
  // The name outlives the step, which may destroy the task.
  const std::string name = this->name();
  trace::Slice slice("asyncio", name);
  TaskExtras& extras = this->extras();
  if (std::exchange(extras.await_traced, false)) {
    trace::AsyncEnd("asyncio", "await", TraceId());
  }
  if (std::exchange(extras.wake_traced, false)) {
    trace::FlowEnd("asyncio", WakeFlowId());
  }
  Step();
}

void TaskBase::TraceWake() {
  TaskExtras& extras = this->extras();
  if (extras.wake_traced) return;  // One flow per step.
  extras.wake_traced = true;
  ++extras.wakes_traced;
  trace::FlowBegin("asyncio", WakeFlowId());
}

uint64_t TaskBase::TraceId() const {
  // The address alone would repeat as tasks come and go; the loop's task
  // number (above the 47 bits of a user-space address) tells them apart.
  return reinterpret_cast<uintptr_t>(this) ^ (id() << 47);
}

uint64_t TaskBase::WakeFlowId() const {
  // Distinct per task and per wake-up, and unlike any other flow's id:
  // mixed (splitmix64's finalizer) from the life's id and the wake count.
  const uint32_t wakes =
      extras_.get() == nullptr ? 0 : extras_.get()->wakes_traced;
  uint64_t x = TraceId() + 0x9e3779b97f4a7c15 * (wakes + 1);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
  x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

void TaskBase::Step() {
  set_waiting_on(nullptr);
  wait_cancelled_ = false;
  if (must_cancel_) {
    must_cancel_ = false;
    resume_.set_throw_cancel(true);
  }
  if (!started_) {
    started_ = true;
    if (resume_.throw_cancel()) {  // Cancelled before its first step.
      resume_.set_throw_cancel(false);
      FinishCancelled(
          std::make_exception_ptr(CancelledError(cancel_message())));
      return;
    }
  }
  LoopCore* loop = loop_;
  TaskBase* previous = loop->current_task();
  loop->set_current_task(this);
  TaskFrame* const outer = std::exchange(running_task_frame, this);
  running_ = true;
  // The trampoline (see coroutine.h): each transfer returns here. With
  // symmetric transfer the next handle stays null and this runs once, so
  // translation units built either way can be linked together.
  std::coroutine_handle<> next = resume_.handle();
  do {
    loop->trampoline_next_ = nullptr;
    next.resume();
    next = loop->trampoline_next_;
  } while (next != nullptr);
  running_ = false;
  running_task_frame = outer;
  loop->set_current_task(previous);
  if (!resume_.handle()) {  // The task's own coroutine returned.
    Finish();
    return;
  }
  if (trace::Enabled()) [[unlikely]] {
    extras().await_traced = true;  // Until the next step.
    trace::AsyncBegin("asyncio", "await", TraceId());
  }
  // Python: a task that cancelled itself cancels what it now waits on.
  // (A task queued again during its step waits on nothing.)
  if (Waitable* on = TaskFrame::waiting_on();
      must_cancel_ && on != nullptr && on->CancelWait(cancel_message())) {
    must_cancel_ = false;
    wait_cancelled_ = true;
  }
}

void TaskBase::Finish() {
  if (TopPromise()->failed()) {
    std::exception_ptr error = TopPromise()->TakeFailure();
    if (IsCancelledError(error)) {
      FinishCancelled(std::move(error));
      return;
    }
    log_traceback_ = true;
    // The frame goes first, as a Python coroutine's frame is gone when its
    // task's outcome is set.
    DestroyFrame();
    Complete(State::kFinished, std::move(error));
  } else if (must_cancel_) {  // Cancelled right before the coroutine returned.
    must_cancel_ = false;
    FinishCancelled(std::make_exception_ptr(CancelledError(cancel_message())));
    return;
  } else {
    FinishWithValue();
  }
  if (trace::Enabled()) trace::AsyncEnd("asyncio", name(), TraceId());
  Unref();  // The loop's reference; may delete this.
}

void TaskBase::FinishCancelled(std::exception_ptr error) {
  DestroyFrame();
  Complete(State::kCancelled, std::move(error));
  if (trace::Enabled()) trace::AsyncEnd("asyncio", name(), TraceId());
  Unref();
}

void TaskFrameFreed(void* room, std::size_t block_size) {
  // TaskBase is the first base of the TaskState<T> built there. A block too
  // large for the cache keeps a class past its last, as FreeFrameOfClass
  // expects.
  std::launder(static_cast<TaskBase*>(room))->block_class_ =
      static_cast<uint8_t>(std::min<std::size_t>(
          FrameCache::ClassOf(block_size), FrameCache::kClasses));
}

void TaskBase::DestroyFrame() {
  if (!frame_alive_) return;
  frame_alive_ = false;
  Top().destroy();
}

void TaskBase::AbandonAtClose() {
  if (done() || !frame_alive_) return;
  Report(loop_, {"Task was destroyed but it is pending!", nullptr, Describe()});
  if (Waitable* on = TaskFrame::waiting_on()) {
    set_waiting_on(nullptr);
    on->AbandonWait(this);
  }
  DestroyFrame();
  // Its done callbacks can no longer run; what they hold goes now, with the
  // loop, not whenever the last handle does.
  DropCallbacks();
  if (trace::Enabled()) {
    if (std::exchange(extras().await_traced, false)) {
      trace::AsyncEnd("asyncio", "await", TraceId());
    }
    trace::AsyncEnd("asyncio", name(), TraceId());
  }
  Unref();
}

const PromiseBase* TaskBase::InnermostCoroutine() const {
  if (done() || !frame_alive_) return nullptr;
  if (!started_ || running_ || resume_.promise_unknown()) return TopPromise();
  return PromiseAt(resume_.handle().address());
}

std::string TaskBase::WhereSuspended() const {
  if (done()) return "";
  if (!frame_alive_) return "destroyed while pending";
  if (running_) return "running";
  if (Waitable* on = TaskFrame::waiting_on()) {
    return "suspended on " + on->DescribeWait();
  }
  return started_ ? "scheduled to resume" : "scheduled to start";
}

std::string TaskBase::Describe() const {
  std::string out = absl::StrCat("Task '", name(), "'");
  if (frame_alive_) {
    const Where where = TopPromise()->where();
    absl::StrAppend(&out, " coroutine ", where.function, " (",
                    where.ShortString(), ")");
  }
  absl::StrAppend(&out, " <", StateName(state()), ">");
  if (!done()) {
    absl::StrAppend(&out, " ", WhereSuspended());
  } else if (stored_exception() != nullptr) {
    absl::StrAppend(&out, " ", DescribeException(stored_exception()));
  }
  return out;
}

std::string TaskBase::DescribeReady() const {
  return absl::StrCat("step of ", Describe());
}

std::vector<AnyTask> AllTasksOf(LoopCore& loop) {
  std::vector<AnyTask> tasks;
  for (FutureBase* f = loop.tracked_head(); f != nullptr;
       f = f->tracked_next_) {
    if (f->is_task() && !f->done()) {
      tasks.emplace_back(static_cast<TaskBase*>(f));
    }
  }
  return tasks;
}

}  // namespace internal

std::optional<AnyTask> CurrentTask() {
  internal::LoopCore* loop = internal::RunningLoopCore();
  if (loop == nullptr || loop->current_task() == nullptr) return std::nullopt;
  return AnyTask(loop->current_task());
}

std::vector<AnyTask> AllTasks() {
  return internal::AllTasksOf(internal::RunningLoopOrDie("AllTasks"));
}

}  // namespace pyconc::asyncio
