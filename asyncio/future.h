// Future<T>: Python's asyncio.Future, a result that will exist later, bound to
// one event loop.
//
//   Future<int> f;                      // fut = loop.create_future()
//   loop.CallLater(d, [f]() mutable { f.SetResult(7); });
//   int x = co_await f;                 // x = await fut
//
// A Future's outcome is set exactly once: SetResult, SetException or Cancel.
// Then its done callbacks are scheduled on the loop, in the order they were
// added (Python's call_soon; a callback added to a done future is scheduled at
// once), and every task awaiting it is woken. `co_await future` on a pending
// future suspends the task; it resumes on the loop's thread in the iteration
// after the outcome was set, getting the value, the exception rethrown, or
// CancelledError for a cancelled future. Cancelling the awaiting task cancels
// the future (as in Python).
//
// Misuse fails fast naming Python's exception: Result() or Exception() on a
// pending future, or setting an outcome twice, is InvalidStateError.
// An exception that nobody retrieves (by Result, Exception or co_await) is
// reported through the loop's exception handler when the last handle goes away
// ("Future exception was never retrieved").
//
// Handles are copyable and share one state (reference-counted, as Python
// objects are). Thread-safety: like Python's, not thread-safe: use a Future on
// its loop's thread; other threads reach it through CallSoonThreadsafe. The
// count is not atomic (it is on every task's hot path), so a handle is also
// copied and dropped on the loop's thread only; to hand one to another thread,
// move it there and move it back inside the CallSoonThreadsafe callback:
//   std::thread([&loop, f]() mutable {
//     loop.CallSoonThreadsafe(
//         [f = std::move(f)]() mutable { f.SetResult(1); });
//   });

#ifndef PYCONC_ASYNCIO_FUTURE_H_
#define PYCONC_ASYNCIO_FUTURE_H_

#include <coroutine>
#include <cstdint>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "asyncio/coroutine.h"
#include "asyncio/errors.h"
#include "asyncio/internal/frame_cache.h"
#include "asyncio/internal/loop_core.h"
#include "asyncio/internal/suspension.h"

namespace pyconc::asyncio {
namespace internal {

// The state shared by Future<T> and Task<T> (a Task is a Future, as in Python).
class FutureBase : public Waitable {
 public:
  enum class State : uint8_t { kPending, kCancelled, kFinished };

  explicit FutureBase(LoopCore* loop);
  FutureBase(const FutureBase&) = delete;
  FutureBase& operator=(const FutureBase&) = delete;

  // States come from the frame cache too (see coroutine.h); a state with an
  // over-aligned value (a Task<T> or Future<T> of such a T) from the
  // aligned operator new.
  static void* operator new(std::size_t size) { return AllocateFrame(size); }
  static void operator delete(void* p, std::size_t size) noexcept {
    FreeFrame(p, size);
  }
  static void* operator new(std::size_t size, std::align_val_t align) {
    return ::operator new(size, align);
  }
  static void operator delete(void* p, std::align_val_t align) noexcept {
    ::operator delete(p, align);  // Unsized: clang 14 declares none sized.
  }

  void Ref() { ++refs_; }
  void Unref() {
    if (--refs_ == 0) Destroy();
  }

  State state() const { return state_; }
  bool done() const { return state_ != State::kPending; }
  bool cancelled() const { return state_ == State::kCancelled; }
  LoopCore* loop() const { return loop_; }

  // Python's Future.cancel(msg); Task overrides it.
  virtual bool Cancel(const std::string& message);
  // Python's Future.set_exception(exc).
  void SetException(std::exception_ptr exception);
  // Marks a pending future finished with its value (stored by the caller).
  void MarkFinished();
  // What Result() checks first: misuse when pending; rethrows the exception
  // or CancelledError. Marks the exception retrieved.
  void RethrowIfFailed(const char* kind);
  // Python's Future.exception(): null when finished with a value.
  std::exception_ptr Exception(const char* kind);

  // Python's add_done_callback: `fn` is scheduled with this future once done
  // (at once when it is done already). Returns the id RemoveDoneCallback
  // takes; 0 when `fn` was scheduled at once (nothing is left to remove).
  uint64_t AddDoneCallback(absl::AnyInvocable<void(FutureBase&)> fn);
  // Python's remove_done_callback; returns how many were removed (0 or 1).
  int RemoveDoneCallback(uint64_t id);
  // A done callback that schedules `node` itself (no allocation): how tasks
  // wait on futures, and how combinators can. `node` must stay valid and out
  // of any queue until it runs, is removed, or gets DropReady() (this future
  // went, or its loop closed under it, without completing).
  void AddDoneNode(ReadyNode* node);
  bool RemoveDoneNode(ReadyNode* node);

  // Waitable.
  bool CancelWait(const std::string& message) override {
    return Cancel(message);
  }
  void AbandonWait(TaskBase* task) override;
  std::string DescribeWait() const override { return Describe(); }
  // A task awaiting a future awaits that future (Shield's adds its inner).
  void ForEachAwaited(absl::FunctionRef<void(FutureBase*)> fn) override {
    fn(this);
  }

  // "Future <pending>", "Task 'Task-3' <finished>", for reports.
  virtual std::string Describe() const;
  virtual bool is_task() const { return false; }

  // For LoopCore's list of live futures and tasks.
  FutureBase* tracked_prev_ = nullptr;
  FutureBase* tracked_next_ = nullptr;
  // The loop is going away: report through stderr from now on.
  void DetachFromLoop() { loop_ = nullptr; }

 protected:
  virtual ~FutureBase();
  // Sets the outcome of a pending future (`exception` null for a value,
  // which the caller stored) and schedules its done callbacks.
  void Complete(State state, std::exception_ptr exception);
  // Finishes a pending task with `value`, kept where a done future's
  // exception would be (kResultInWord in coroutine.h), and schedules its
  // done callbacks.
  template <typename T>
  void CompleteWithValueInWord(T value) {
    static_assert(kResultInWord<T>);
    const TakenCallbacks taken = TakeCallbacks();
    ::new (static_cast<void*>(value_word_)) T(std::move(value));
    value_in_word_ = true;
    state_ = State::kFinished;
    ScheduleCallbacks(taken);
  }
  // The value CompleteWithValueInWord kept.
  const void* value_word() const { return value_word_; }
  // Destroys the done callbacks unrun (the loop closed under a pending task).
  void DropCallbacks();
  static const char* StateName(State state);
  // The exception a done future holds (null for a value); the CancelledError
  // of a cancelled one. Null while pending.
  const std::exception_ptr& stored_exception() const;

  LoopCore* loop_;

 private:
  struct DoneCallback {
    uint64_t id;
    ReadyNode* node;
    absl::AnyInvocable<void(FutureBase&)> fn;
  };
  // The done callbacks in the order they were added.
  struct DoneCallbacks {
    std::vector<DoneCallback> list;
    uint32_t next_id = 1;
  };
  // Destroys and frees this (a task in its frame's block frees that block).
  virtual void Destroy() { delete this; }
  // The list, made on first need (a single node moves into it first).
  DoneCallbacks& callback_list();
  // The done callbacks, taken out of their word for the outcome to go there.
  struct TakenCallbacks {
    void* callbacks;
    bool listed;
  };
  TakenCallbacks TakeCallbacks() {
    const TakenCallbacks taken{callbacks_, callbacks_listed_};
    callbacks_listed_ = false;
    return taken;
  }
  // Schedules the done callbacks that Complete took out of callbacks_.
  void ScheduleCallbacks(TakenCallbacks taken);
  // Schedules fn(*this) on the loop, as a done callback.
  void ScheduleCallback(absl::AnyInvocable<void(FutureBase&)> fn);

  // One word for all three: a future has done callbacks only while pending,
  // and an exception, or a task its value of a word, only once done (the
  // callbacks are scheduled, and gone, by then). Every task's size is the
  // memory of a sleeping task.
  union {
    // The done callbacks: none (null), one ReadyNode (a task awaiting this,
    // the common case: no allocation), or a DoneCallbacks when
    // callbacks_listed_ (owned).
    void* callbacks_;
    std::exception_ptr exception_;
    alignas(void*) unsigned char value_word_[sizeof(void*)];
  };
  uint32_t refs_ = 1;
  State state_ : 2 = State::kPending;
  bool callbacks_listed_ : 1 = false;

 protected:
  bool log_traceback_ : 1 = false;  // An exception nobody has retrieved yet.
  // A task's own flags, here after the count rather than in TaskBase, where
  // they would add a word of padding to every task (a task's size is the
  // memory of every sleeping task). A plain Future leaves them be.
  bool must_cancel_ : 1 = false;
  // Cancel() cancelled what the task waits on in this suspension: the
  // awaitable will throw CancelledError with that first message.
  bool wait_cancelled_ : 1 = false;
  bool started_ : 1 = false;
  bool running_ : 1 = false;
  bool frame_alive_ : 1 = true;     // The frame of Top() (its block stays).
  bool value_in_word_ : 1 = false;  // See CompleteWithValueInWord.
  uint8_t block_class_ = 0;         // See TaskBase::block_class().
  friend class TaskBase;
};

// An owning pointer to a FutureBase-derived state.
template <typename S>
class StateRef {
 public:
  StateRef() = default;
  explicit StateRef(S* state) : state_(state) {}  // Adopts one reference.
  StateRef(const StateRef& other) : state_(other.state_) {
    if (state_ != nullptr) state_->Ref();
  }
  StateRef(StateRef&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)) {}
  StateRef& operator=(StateRef other) {
    std::swap(state_, other.state_);
    return *this;
  }
  ~StateRef() {
    if (state_ != nullptr) state_->Unref();
  }
  S* get() const { return state_; }
  S* operator->() const { return state_; }
  // Gives up the reference without dropping it.
  S* release() { return std::exchange(state_, nullptr); }
  explicit operator bool() const { return state_ != nullptr; }

 private:
  S* state_ = nullptr;
};

// Where a value of type T is kept once set.
template <typename T>
class ResultSlot {
 public:
  template <typename U>
  void Set(U&& value) {
    value_.emplace(std::forward<U>(value));
  }
  const T& Get() const { return *value_; }

 private:
  std::optional<T> value_;
};
template <>
class ResultSlot<void> {
 public:
  void Get() const {}
};

// Not final: Shield's outer future adds to it (shield.h). What a Future's
// await asks stays a direct call.
template <typename T>
class FutureState : public FutureBase, public ResultSlot<T> {
 public:
  using FutureBase::FutureBase;
  bool is_task() const final { return false; }
};

// `co_await` on a Future or Task: suspends unless done, then gives the value
// (a copy: several tasks may await one future) or rethrows.
template <typename S, typename T>
class ResultAwaiter {
 public:
  explicit ResultAwaiter(StateRef<S> state) : state_(std::move(state)) {}
  bool await_ready() const noexcept { return state_->done(); }
  template <typename P>
  void await_suspend(std::coroutine_handle<P> caller) {
    task_ = caller.promise().task();
    SuspendChecked(task_, state_.get());
    task_->SuspendOn(caller, state_.get());
    state_->AddDoneNode(task_);
  }
  T await_resume() {
    if (task_ != nullptr) task_->ThrowIfCancelRequested();
    state_->RethrowIfFailed(state_->is_task() ? "Task" : "Future");
    if constexpr (!std::is_void_v<T>) return T(state_->Get());
  }

 private:
  StateRef<S> state_;
  TaskFrame* task_ = nullptr;
};

// Misuse checks before a task suspends on `on`: a task awaiting itself, or a
// future of another loop (Python's RuntimeError for both).
void SuspendChecked(TaskFrame* task, FutureBase* on);
// The running loop, or misuse "RuntimeError: no running event loop".
LoopCore& RunningLoopOrDie(const char* what);

}  // namespace internal

template <typename T = void>
class Future {
 public:
  // A pending future on the running loop (Python: loop.create_future() inside
  // a coroutine; EventLoop::CreateFuture<T>() makes one for a given loop).
  Future() : Future(internal::RunningLoopOrDie("Future()")) {}
  explicit Future(internal::LoopCore& loop)
      : state_(new internal::FutureState<T>(&loop)) {}

  // Python's done(), cancelled().
  bool Done() const { return state_->done(); }
  bool Cancelled() const { return state_->cancelled(); }
  // Python's result(): the value; rethrows the exception, or CancelledError
  // when cancelled. On a pending future: misuse (InvalidStateError).
  decltype(auto) Result() const {
    state_->RethrowIfFailed("Future");
    return state_->Get();
  }
  // Python's exception(): null when there is a value; CancelledError thrown
  // when cancelled; misuse (InvalidStateError) when pending.
  std::exception_ptr Exception() const { return state_->Exception("Future"); }

  // Python's set_result(value); misuse (InvalidStateError) when done.
  template <typename U = T>
  requires(!std::is_void_v<U>) void SetResult(U value) {
    CheckPending("SetResult");
    state_->Set(std::move(value));
    state_->MarkFinished();
  }
  template <typename U = T>
  requires std::is_void_v<U>
  void SetResult() {
    CheckPending("SetResult");
    state_->MarkFinished();
  }
  // Python's set_exception(exc); misuse (InvalidStateError) when done.
  void SetException(std::exception_ptr exception) {
    state_->SetException(std::move(exception));
  }
  // Python's cancel(msg): false when already done.
  bool Cancel(std::string message = "") { return state_->Cancel(message); }

  // Python's add_done_callback(fn): `fn(future)` is scheduled on the loop when
  // the future is done (at once if it is). Returns an id for
  // RemoveDoneCallback: 0 when it was scheduled at once.
  uint64_t AddDoneCallback(absl::AnyInvocable<void(Future&)> fn) {
    return state_->AddDoneCallback(
        [fn = std::move(fn)](internal::FutureBase& base) mutable {
          Future self(static_cast<internal::FutureState<T>*>(&base));
          fn(self);
        });
  }
  // Python's remove_done_callback: returns the number removed (0 or 1).
  int RemoveDoneCallback(uint64_t id) { return state_->RemoveDoneCallback(id); }

  // Python's `await fut`; see the top of this file.
  auto operator co_await() const {
    return internal::ResultAwaiter<internal::FutureState<T>, T>(state_);
  }

  internal::FutureBase* base() const { return state_.get(); }
  // For the thread bridges (executor.h): the state with one reference, and a
  // handle adopting such a reference, so that a handle crosses threads
  // without its (non-atomic) count being touched there.
  internal::FutureState<T>* ReleaseState() && { return state_.release(); }
  static Future AdoptState(internal::FutureState<T>* state) {
    Future future(state);
    state->Unref();  // The constructor took one more.
    return future;
  }
  friend bool operator==(const Future& a, const Future& b) {
    return a.state_.get() == b.state_.get();
  }

 private:
  explicit Future(internal::FutureState<T>* state) : state_(state) {
    state->Ref();
  }
  void CheckPending(const char* what) const;

  internal::StateRef<internal::FutureState<T>> state_;
};

namespace internal {
[[noreturn]] void InvalidState(const char* what, const std::string& which);

// A Future or a Task of any result type: how the combinators (Wait, Gather,
// WaitFor, AsCompleted) hold what they were given, as Python's accept any
// future. Loop's thread only, as the future itself.
class AnyFuture {
 public:
  // Takes a new reference to `state`.
  explicit AnyFuture(FutureBase* state) : state_(state) { state->Ref(); }

  bool Done() const { return state_->done(); }
  bool Cancelled() const { return state_->cancelled(); }
  // Python's exception(): null after a value; rethrows CancelledError.
  std::exception_ptr Exception() const { return state_->Exception(Kind()); }
  // Python's cancel(msg): a Task's or a Future's own.
  bool Cancel(const std::string& message = "") {
    return state_->Cancel(message);
  }
  // As Future's: `fn(future)` is scheduled once done; 0 when done already.
  uint64_t AddDoneCallback(absl::AnyInvocable<void(AnyFuture&)> fn) {
    return state_->AddDoneCallback(
        [fn = std::move(fn)](FutureBase& base) mutable {
          AnyFuture self(&base);
          fn(self);
        });
  }
  // Python's remove_done_callback: the number removed (0 or 1).
  int RemoveDoneCallback(uint64_t id) { return state_->RemoveDoneCallback(id); }
  FutureBase* base() const { return state_.get(); }

 private:
  const char* Kind() const { return state_->is_task() ? "Task" : "Future"; }

  StateRef<FutureBase> state_;
};

// The result type of a Future<T> or Task<T> (task.h adds Task).
template <typename F>
struct FutureValue {};
template <typename T>
struct FutureValue<Future<T>> {
  using type = T;
};
template <typename F>
using FutureValueT = typename FutureValue<std::remove_cvref_t<F>>::type;
// Future<T> or Task<T>: what Python's combinators call a future.
template <typename F>
concept FutureLike = requires {
  typename FutureValueT<F>;
};

template <typename F>
AnyFuture AsAnyFuture(const F& future) {
  return AnyFuture(future.base());
}
template <typename F>
std::vector<AnyFuture> AsAnyFutures(const std::vector<F>& futures) {
  std::vector<AnyFuture> out;
  out.reserve(futures.size());
  for (const F& f : futures) out.push_back(AsAnyFuture(f));
  return out;
}

}  // namespace internal

template <typename T>
void Future<T>::CheckPending(const char* what) const {
  if (state_->done()) internal::InvalidState(what, state_->Describe());
}

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_FUTURE_H_
