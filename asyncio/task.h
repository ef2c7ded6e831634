// Task<T>: Python's asyncio.Task, a coroutine scheduled to run concurrently.
//
//   Task<int> t = CreateTask(Work(), {.name = "worker"});  // create_task
//   ...                                                    // t runs meanwhile
//   int x = co_await t;                                    // await t
//   int y = co_await CreateTask(Work());                   // await at once
//
// Eager in the sense Python's tasks are: CreateTask schedules the coroutine's
// first step on the running loop at once (it starts in the loop's next
// iteration, not inside CreateTask). Each step runs on the loop's thread until
// the coroutine suspends. The loop keeps a pending task alive even when nobody
// holds its Task handle (closing Python's "weak reference" trap); handles are
// copyable and share the task.
//
// Eager tasks, as Python 3.12's eager_start and eager_task_factory
// (TaskOptions::eager_start, EventLoop::SetTaskFactory(TaskFactory::kEager)):
// when created on the running loop, the coroutine's first step runs inside
// CreateTask, as the current task, until it first suspends; a coroutine that
// never suspends is done when CreateTask returns, and is never scheduled.
// Created while its loop is not running, an eager task starts as any other.
//
// Cancellation, as Python 3.11+ (tasks.py), case by case:
// - Cancel(msg) on a task suspended on an awaitable cancels that awaitable
//   (a Future, another Task, a Sleep, a socket wait); the task resumes with
//   CancelledError(msg) thrown at that await. Cancel() on a task that is
//   scheduled but not yet stepped (not started, or woken by a result) makes its
//   next step throw CancelledError instead (Python's _must_cancel); a task
//   cancelled before its first step never runs its body.
// - Cancel(msg) twice: on a suspended task the first message is the one the
//   task and its awaiters see (the cancelled awaitable's CancelledError, which
//   Python's __step keeps); on a task not yet stepped, the last.
// - A task that cancels itself ends cancelled at its next await, or when it
//   returns if there is none.
// - A task whose coroutine lets CancelledError out ends cancelled; one that
//   catches it and returns a value ends finished, not cancelled.
// - Cancel() on a done task returns false. Every other Cancel() returns true
//   and counts one request: Cancelling() is the count and Uncancel()
//   decrements it (when it reaches 0 a pending _must_cancel is dropped, as in
//   3.13). Timeout and TaskGroup build on these counts.
// - Awaiting a task that ends cancelled throws its CancelledError (with the
//   message it carried) in the awaiter, which is not itself marked cancelled.
//
// Nothing lost: a task that ends with an exception nobody retrieved (Result,
// Exception, co_await) is reported when its last handle goes ("Task exception
// was never retrieved"); a task still pending when its loop closes is reported
// ("Task was destroyed but it is pending!"), its frame destroyed and its done
// callbacks dropped.
//
// Thread-safety: like Python's, tasks belong to their loop's thread.

#ifndef PYCONC_ASYNCIO_TASK_H_
#define PYCONC_ASYNCIO_TASK_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/functional/any_invocable.h"
#include "asyncio/coroutine.h"
#include "asyncio/future.h"
#include "asyncio/internal/loop_core.h"
#include "asyncio/internal/suspension.h"

namespace pyconc::asyncio {

// The keyword arguments of Python's create_task(coro, name=...).
//
// Trivially destructible on purpose: g++ 12 miscompiles a temporary with a
// non-trivial destructor inside a co_await operand, and `co_await
// CreateTask(Work())` makes this one. The name is copied into the task by
// CreateTask, so it only has to outlive that call.
struct TaskOptions {
  // Empty means "Task-N", numbered per loop in creation order from 1.
  std::string_view name;
  // Python's Task(..., eager_start=True) (3.12): start at once; see the top
  // of this file. The loop's TaskFactory::kEager makes every task eager.
  bool eager_start = false;
};
static_assert(std::is_trivially_destructible_v<TaskOptions>);

// Python's task factories: the default one, and asyncio.eager_task_factory
// (3.12), under which every new task starts eagerly (see the top of this file;
// EventLoop::SetTaskFactory).
enum class TaskFactory { kDefault, kEager };

namespace internal {

class TaskBase : public FutureBase, public TaskFrame {
 public:
  TaskBase(LoopCore* loop, std::coroutine_handle<> top, PromiseBase* promise,
           std::string_view name);

  // Python's Task.cancel(msg), cancelling(), uncancel().
  bool Cancel(const std::string& message) override;
  int cancelling() const {
    return extras_.get() == nullptr ? 0 : extras_.get()->num_cancels_requested;
  }
  int Uncancel();

  std::string name() const;
  void set_name(std::string name) { extras().name = std::move(name); }
  // Where the task is: "running", "scheduled", "suspended on <what>".
  std::string WhereSuspended() const;
  std::string Describe() const override;
  bool is_task() const override { return true; }

  // For the call graph (graph.h). The coroutine the task is suspended in;
  // its own coroutine when it has not started or is running (which of its
  // coroutines runs is not recorded); null once done.
  const PromiseBase* InnermostCoroutine() const;
  Waitable* waiting_on() const {
    return running_ ? nullptr : TaskFrame::waiting_on();
  }
  uint64_t id() const { return extras_.id(); }

  // Schedules the first step, or with `eager` runs it now (Python's
  // __eager_start). Once, right after construction.
  void Start(bool eager);
  // The loop closes while the task is pending: report it, destroy its frame.
  void AbandonAtClose();

  // ReadyNode: one step (Python's Task.__step), a slice on the timeline while
  // a trace records, with an "await" span from each suspension to the next
  // step and a flow from the future whose result woke the task.
  void RunReady() override;
  std::string DescribeReady() const override;
  void TraceWake() override;

 protected:
  ~TaskBase() override;
  // The task's own coroutine returned a value: takes it into the task,
  // destroys the frame and completes the task.
  virtual void FinishWithValue() = 0;
  // The task's own coroutine; its frame must be alive (until DestroyFrame).
  virtual std::coroutine_handle<> Top() const = 0;
  // The promise of the task's own coroutine; the frame must be alive.
  virtual PromiseBase* TopPromise() const = 0;
  // The frame-cache class of the block of the task and its frame, recorded
  // when the frame is destroyed (TaskFrameFreed).
  std::size_t block_class() const { return block_class_; }
  void DestroyFrame();

 private:
  void Step();
  // RunReady while a trace records. Apart, so that an untraced step pays
  // nothing for its frame.
  ABSL_ATTRIBUTE_NOINLINE void RunReadyTraced();
  // The id of the task's life and its awaits on the timeline.
  uint64_t TraceId() const;
  // The id of the flow into the task's next step.
  uint64_t WakeFlowId() const;
  void Finish();
  void FinishCancelled(std::exception_ptr error);
  friend void TaskFrameFreed(void* room, std::size_t block_size);
  friend class TaskFrame;  // For task_loop().
  // The task's flags are bits of FutureBase (must_cancel_ and those after
  // it), where they add no padding.
};

static_assert(sizeof(TaskBase) == kTaskBaseSize);

// Where a task allocated apart from its frame (see TaskState) keeps the
// frame's handle; a task in its frame's room finds the frame right after it.
template <typename T, bool kApart = kTaskRoom<T> == 0>
struct ApartTop {};
template <typename T>
struct ApartTop<T, true> {
  typename Coroutine<T>::Handle apart_top_;
};

// A task's state. Built in the room in front of its coroutine's frame (see
// kTaskRoom in coroutine.h), unless T is over-aligned.
template <typename T>
class TaskState final
    : public TaskBase,
      public std::conditional_t<kResultInWord<T>, std::monostate,
                                ResultSlot<T>>,
      ApartTop<T> {
 public:
  TaskState(LoopCore* loop, typename Coroutine<T>::Handle handle,
            std::string_view name)
      : TaskBase(loop, handle, &handle.promise(), name) {
    if constexpr (kTaskRoom<T> == 0) this->apart_top_ = handle;
  }

  // The value of a task finished with one.
  decltype(auto) Get() const {
    if constexpr (kResultInWord<T>) {
      return *std::launder(static_cast<const T*>(value_word()));
    } else {
      return ResultSlot<T>::Get();
    }
  }

 private:
  typename Coroutine<T>::Handle TypedTop() const {
    if constexpr (kTaskRoom<T> == 0) {
      return this->apart_top_;
    } else {  // The frame follows the room this state was built in.
      return Coroutine<T>::Handle::from_address(
          const_cast<char*>(reinterpret_cast<const char*>(this)) +
          kTaskRoom<T>);
    }
  }
  Promise<T>& promise() const { return TypedTop().promise(); }
  std::coroutine_handle<> Top() const override { return TypedTop(); }
  void FinishWithValue() override {
    // The frame goes first, as in Finish.
    if constexpr (std::is_void_v<T>) {
      DestroyFrame();
      Complete(State::kFinished, nullptr);
    } else if constexpr (kResultInWord<T>) {
      T value = promise().TakeResult();
      DestroyFrame();
      CompleteWithValueInWord(std::move(value));
    } else {
      this->Set(promise().TakeResult());
      DestroyFrame();
      Complete(State::kFinished, nullptr);
    }
  }
  PromiseBase* TopPromise() const override { return &promise(); }
  void Destroy() override {
    // The frame first, while Top() still works: it also records the block's
    // class.
    DestroyFrame();
    if constexpr (kTaskRoom<T> == 0) {
      delete this;
    } else {
      static_assert(sizeof(TaskState) <= kTaskRoom<T> &&
                    alignof(TaskState) <= kFrameAlign);
      const std::size_t block_class = this->block_class();
      void* block = this;
      this->~TaskState();
      FreeFrameOfClass(block, block_class);
    }
  }
};

}  // namespace internal

// A task whose result type is not known here: what CurrentTask() and
// AllTasks() return. Task<T> is an AnyTask with Result().
class AnyTask {
 public:
  AnyTask() = default;

  // Python's done(), cancelled().
  bool Done() const { return state_->done(); }
  bool Cancelled() const { return state_->cancelled(); }
  // Python's exception(): null when finished with a value; rethrows
  // CancelledError when cancelled; misuse (InvalidStateError) when pending.
  std::exception_ptr Exception() const { return state_->Exception("Task"); }
  // Python's cancel(msg); see the top of this file.
  bool Cancel(std::string message = "") { return state_->Cancel(message); }
  // Python's cancelling(): pending cancellation requests.
  int Cancelling() const { return state_->cancelling(); }
  // Python's uncancel(): one request fewer; returns the remaining count.
  int Uncancel() { return state_->Uncancel(); }
  // Python's get_name() / set_name().
  std::string name() const { return state_->name(); }
  void set_name(std::string name) { state_->set_name(std::move(name)); }
  // Python's remove_done_callback: returns the number removed (0 or 1).
  int RemoveDoneCallback(uint64_t id) { return state_->RemoveDoneCallback(id); }
  // Python's add_done_callback(fn): `fn(task)` is scheduled once done (at
  // once if it is). Returns an id for RemoveDoneCallback: 0 when done already.
  uint64_t AddDoneCallback(absl::AnyInvocable<void(AnyTask&)> fn) {
    return state_->AddDoneCallback(
        [fn = std::move(fn)](internal::FutureBase& base) mutable {
          AnyTask self(static_cast<internal::TaskBase*>(&base));
          fn(self);
        });
  }
  // One line: name, coroutine, state and where it is suspended.
  std::string Describe() const { return state_->Describe(); }

  // `co_await task` without the value: waits, rethrows a failure.
  auto operator co_await() const {
    return internal::ResultAwaiter<internal::TaskBase, void>(state_);
  }

  bool valid() const { return static_cast<bool>(state_); }
  internal::TaskBase* base() const { return state_.get(); }
  friend bool operator==(const AnyTask& a, const AnyTask& b) {
    return a.state_.get() == b.state_.get();
  }

  // Takes a new reference to `state`.
  explicit AnyTask(internal::TaskBase* state) : state_(state) { state->Ref(); }

 protected:
  internal::StateRef<internal::TaskBase> state_;
};

template <typename T = void>
class Task : public AnyTask {
 public:
  Task() = default;
  explicit Task(internal::TaskState<T>* state) : AnyTask(state) {}

  // Python's result(): the value; rethrows the task's exception, or its
  // CancelledError when cancelled; misuse (InvalidStateError) when pending.
  decltype(auto) Result() const {
    state_->RethrowIfFailed("Task");
    return typed()->Get();
  }
  // Python's add_done_callback(fn) with the typed task.
  uint64_t AddDoneCallback(absl::AnyInvocable<void(Task&)> fn) {
    return state_->AddDoneCallback(
        [fn = std::move(fn)](internal::FutureBase& base) mutable {
          Task self(static_cast<internal::TaskState<T>*>(&base));
          fn(self);
        });
  }
  // Python's `await task`: the value (a copy), or the exception rethrown.
  auto operator co_await() const {
    return internal::ResultAwaiter<internal::TaskState<T>, T>(
        internal::StateRef<internal::TaskState<T>>(RefTyped()));
  }

 private:
  internal::TaskState<T>* typed() const {
    return static_cast<internal::TaskState<T>*>(state_.get());
  }
  internal::TaskState<T>* RefTyped() const {
    typed()->Ref();
    return typed();
  }
};

namespace internal {
template <typename T>
struct FutureValue<Task<T>> {
  using type = T;
};

template <typename T>
Task<T> NewTask(LoopCore& loop, Coroutine<T> coro, TaskOptions options) {
  typename Coroutine<T>::Handle handle = coro.Release();
  TaskState<T>* state;
  if constexpr (kTaskRoom<T> == 0) {
    state = new TaskState<T>(&loop, handle, options.name);
  } else {
    void* room = static_cast<char*>(handle.address()) - kTaskRoom<T>;
    state = ::new (room) TaskState<T>(&loop, handle, options.name);
  }
  Task<T> task(state);
  state->Unref();  // The loop's reference is the one TaskBase took.
  state->Start((options.eager_start || loop.eager_task_factory()) &&
               RunningLoopCore() == &loop);
  return task;
}
}  // namespace internal

// Python's asyncio.create_task(coro, name=...): schedules `coro` on the
// running loop (misuse, RuntimeError, when no loop is running).
template <typename T>
Task<T> CreateTask(Coroutine<T> coro, TaskOptions options = {}) {
  return internal::NewTask(internal::RunningLoopOrDie("CreateTask"),
                           std::move(coro), options);
}

namespace internal {
// The tasks of `loop` not yet done, newest first.
std::vector<AnyTask> AllTasksOf(LoopCore& loop);
}  // namespace internal

// Python's asyncio.current_task(): the task whose step is running, if any.
std::optional<AnyTask> CurrentTask();
// Python's asyncio.all_tasks(): the running loop's tasks not yet done.
std::vector<AnyTask> AllTasks();

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_TASK_H_
