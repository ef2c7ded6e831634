// Future<T>: Python's concurrent.futures.Future for C++.
//
// A Future is the result of a computation that may not have finished yet: an
// executor (the thread pool here, the process pool later) completes it once,
// with a value or with the exception the computation threw, or it is cancelled
// before it ever ran. Python to C++:
//
//   f.result()          ->  f.Result()   waits; T& (or void), else rethrows
//   f.result(timeout=t) ->  if (f.Wait(t)) f.Result();   (no TimeoutError)
//   f.exception()       ->  f.Exception()   waits; null std::exception_ptr
//                                            when the call succeeded
//   f.cancel(), f.cancelled(), f.running(), f.done()
//                       ->  f.Cancel(), f.Cancelled(), f.Running(), f.Done()
//   f.add_done_callback(fn) -> f.AddDoneCallback(fn), fn(const Future<T>&)
//   executor side: set_running_or_notify_cancel(), set_result(v),
//   set_exception(e)    ->  SetRunningOrNotifyCancel(), SetResult(v),
//                           SetException(std::exception_ptr)
//
// Lifecycle: pending -> running -> finished, or pending -> cancelled. A Future
// is completed exactly once; completing it twice is misuse and aborts naming
// Python's InvalidStateError. Result() of a cancelled Future throws
// CancelledError, as Python raises it.
//
// Where C++ differs from Python: a cancelled Future counts as done for Wait()
// and AsCompleted() at once (CPython waits until the executor notices the
// cancellation); an exception that nobody collects with Result() or
// Exception() is reported through //base:report's sink, stderr by default
// ("pyconc: Future exception was never retrieved: ...", one write), when the
// last handle goes away, so it is never swallowed silently.
//
// Callbacks run in the thread that completes the Future (a pool worker, or
// whoever calls Cancel()), or at once in the caller of AddDoneCallback() when
// the Future is already done. Waiters wake before the callbacks run, so
// Result() may return while they still run (as in CPython). A callback that
// throws is reported through pyconc::threading::ExceptHook (by default
// "Exception in thread NAME:" on stderr), and the callbacks after it still
// run.
//
// Thread-safety: a Future is a copyable handle to shared state; every member
// function may be called from any thread, on any copy. Memory ordering: what
// the computation wrote before completing the Future is visible to a thread
// once Done() has returned true there (or Result()/Wait() has returned).
// The Future does not depend on an executor or on who completes it (it uses
// //threading/thread only to report), so any executor, e.g. the process
// pool's result thread, or a test can complete one. A moved-from Future may
// only be assigned to or destroyed.
//
// Lifetime: any handle may be destroyed at any time, on any thread, even while
// its call runs: the shared state lives until its last handle (the executor's
// and a done callback's included) is gone.
//
// Calls that start elsewhere: an executor whose calls are claimed by another
// process (the process pool's workers claim each call in shared memory) gives
// a pending Future a StartHook (internal::FutureCore::SetStartHook). While the
// Future is pending, Cancel() then succeeds only if the hook can stop the call
// from ever starting, and Running() reports whether the call has started; the
// executor marks the Future running (SetRunningOrNotifyCancel) once it learns
// of the start. A Future without a hook (every thread pool Future) pays one
// bit test in Cancel() and Running().

#ifndef PYCONC_THREADING_POOL_FUTURE_H_
#define PYCONC_THREADING_POOL_FUTURE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace pyconc::futures {

// Python's concurrent.futures.CancelledError: Result() of a cancelled Future.
// As in Python since 3.8 (bpo-32528), it is an Exception (here a
// std::exception) and not asyncio::CancelledError, which is a BaseException:
// `catch (asyncio::CancelledError&)` does not catch it.
class CancelledError : public std::runtime_error {
 public:
  CancelledError() : std::runtime_error("CancelledError") {}
};

// Python's concurrent.futures.BrokenExecutor (BrokenThreadPool): the executor
// can no longer run work, e.g. because a worker's initializer failed.
class BrokenExecutor : public std::runtime_error {
 public:
  explicit BrokenExecutor(const std::string& message)
      : std::runtime_error("BrokenExecutor: " + message) {}
};

template <typename T>
class Future;

namespace internal {

// Something that waits for several Futures at once (Wait(), AsCompleted()),
// as CPython's _Waiter. Add() is called with the Future's lock held, once per
// registered Future, when it is done; it must not block.
class FutureCore;

// Where a call that another party starts is claimed (see the top of this
// file). Both functions may be called from any thread, concurrently with the
// call being claimed.
class StartHook {
 public:
  virtual ~StartHook() = default;
  // Stops the call from ever starting: true if it will never start (also when
  // it was stopped before), false once it has started.
  virtual bool TryCancel() = 0;
  // Whether the call has started (and was not stopped).
  virtual bool Started() const = 0;
};

class Waiter {
 public:
  virtual void Add(size_t index, const FutureCore& future) = 0;

 protected:
  ~Waiter() = default;
};

// The untyped part of a Future's shared state: the state machine, waiting, the
// callbacks and the waiters of Wait()/AsCompleted(). Reference-counted by hand
// so that an executor's work item can be the same allocation.
class FutureCore {
 public:
  enum Phase : uint32_t {
    kPending = 0,
    kRunning = 1,
    kCancelled = 2,
    kFinished = 3,
  };

  FutureCore() = default;
  FutureCore(const FutureCore&) = delete;
  FutureCore& operator=(const FutureCore&) = delete;
  virtual ~FutureCore();

  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  Phase phase() const {
    return static_cast<Phase>(state_.load(std::memory_order_acquire) &
                              kPhaseMask);
  }
  bool Done() const {
    const Phase p = phase();
    return p == kCancelled || p == kFinished;
  }

  bool Cancel();
  // Running, or pending with a StartHook whose call has started.
  bool Running() const;
  bool SetRunningOrNotifyCancel();
  // For an executor whose calls start elsewhere: from now on Cancel() and
  // Running() ask `hook` while the Future is pending. False (and no hook) when
  // the Future is already cancelled: do not start the call. Misuse when it is
  // running, done or already has a hook.
  bool SetStartHook(std::shared_ptr<StartHook> hook);
  // Blocks until done or `timeout` passed; returns Done().
  bool WaitFor(absl::Duration timeout) const;
  // Waits, marks the outcome retrieved; throws CancelledError when cancelled.
  void WaitForOutcome();
  // The exception the computation threw; valid once finished.
  const std::exception_ptr& exception() const { return exception_; }

  // Claims the right to complete the Future; misuse when it is done or being
  // completed. The caller then stores the value and calls Finish().
  void BeginSet(const char* what);
  void SetException(std::exception_ptr exception);
  // Publishes the outcome: waiters wake, callbacks run.
  void Finish();

  using Callback = absl::AnyInvocable<void(FutureCore*)>;
  void AddCallback(Callback callback);

  // Registers `waiter` (reporting `index`); if the Future is already done,
  // calls waiter->Add(index, *this) at once instead.
  void AddWaiter(Waiter* waiter, size_t index);
  void RemoveWaiter(Waiter* waiter);

 private:
  static constexpr uint32_t kPhaseMask = 3;
  // Someone waits, or a callback or waiter is registered: completing must lock.
  static constexpr uint32_t kWatched = 4;
  // SetResult/SetException has begun: Cancel() fails, a second set is misuse.
  static constexpr uint32_t kCompleting = 8;

  // Retrieved by Result() or Exception(): a stored exception was seen.
  static constexpr uint32_t kRetrieved = 16;
  // Has a StartHook (in the Watchers, set before this bit).
  static constexpr uint32_t kHooked = 32;

  struct WaiterEntry {
    Waiter* waiter;
    size_t index;
  };
  // What only a watched (or hooked) Future needs, allocated on first use so
  // that the common case (nobody waits, one allocation per task) stays small.
  struct Watchers {
    absl::Mutex mu;
    std::vector<Callback> callbacks ABSL_GUARDED_BY(mu);
    std::vector<WaiterEntry> waiters ABSL_GUARDED_BY(mu);
    // Written once, before kHooked is set; read only after it is seen.
    std::shared_ptr<StartHook> hook;
  };

  Watchers& GetWatchers() const;
  // After a watched Future completed: wakes waiters, runs the callbacks.
  void Notify();
  void RunCallback(Callback& callback);

  // Phase, kWatched, kCompleting, kRetrieved, kHooked; mutable because waiting
  // sets kWatched.
  mutable std::atomic<uint32_t> state_{kPending};
  std::atomic<int32_t> refs_{1};
  std::exception_ptr exception_;
  mutable std::atomic<Watchers*> watchers_{nullptr};
};

// Adds the typed value to the core.
template <typename T>
class State : public FutureCore {
 public:
  using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
  std::optional<Stored> value;
};

}  // namespace internal

// Python's concurrent.futures.Future. See the top of this file.
template <typename T>
class Future {
 public:
  // A new pending Future, as Python's Future(); complete it with SetResult().
  Future() : state_(new internal::State<T>) {}
  Future(const Future& other) : state_(other.state_) { state_->Ref(); }
  Future(Future&& other) noexcept : state_(std::exchange(other.state_, {})) {}
  Future& operator=(Future other) noexcept {
    std::swap(state_, other.state_);
    return *this;
  }
  ~Future() {
    if (state_ != nullptr) state_->Unref();
  }

  // Python's result(): waits, then returns the value (a reference to the one
  // stored, valid while a handle lives) or rethrows the computation's
  // exception; throws CancelledError when cancelled.
  std::add_lvalue_reference_t<T> Result() const {
    state_->WaitForOutcome();
    if (state_->exception() != nullptr) {
      std::rethrow_exception(state_->exception());
    }
    if constexpr (!std::is_void_v<T>) return *state_->value;
  }

  // Python's exception(): waits, then returns what the computation threw, or
  // null when it returned; throws CancelledError when cancelled.
  std::exception_ptr Exception() const {
    state_->WaitForOutcome();
    return state_->exception();
  }

  // Python's result(timeout)/exception(timeout) without the raising: waits up
  // to `timeout` and returns Done().
  bool Wait(absl::Duration timeout) const { return state_->WaitFor(timeout); }

  // Python's cancel(): true if the Future is now cancelled (it was pending, or
  // already cancelled); false once it runs or has finished.
  bool Cancel() const { return state_->Cancel(); }
  // Python's cancelled(), running(), done().
  bool Cancelled() const {
    return state_->phase() == internal::FutureCore::kCancelled;
  }
  bool Running() const { return state_->Running(); }
  bool Done() const { return state_->Done(); }

  // Python's add_done_callback(fn): `fn(future)` runs when the Future is done,
  // at once (in this thread) if it already is. Callbacks run in the order they
  // were added.
  template <typename F>
  requires std::is_invocable_v<F&, const Future&>
  void AddDoneCallback(F fn) const {
    state_->AddCallback(
        [fn = std::move(fn)](internal::FutureCore* core) mutable {
          core->Ref();
          const Future future(static_cast<internal::State<T>*>(core));
          fn(future);
        });
  }

  // For executors. Python's set_running_or_notify_cancel(): false when the
  // Future was cancelled (do not run it), else marks it running and returns
  // true. Misuse (RuntimeError) when it is already running or finished.
  bool SetRunningOrNotifyCancel() const {
    return state_->SetRunningOrNotifyCancel();
  }
  // Python's set_result(value); misuse (InvalidStateError) when done.
  template <typename U = T>
  requires(!std::is_void_v<U>) void SetResult(U value) const {
    state_->BeginSet("set_result");
    state_->value.emplace(std::move(value));
    state_->Finish();
  }
  template <typename U = T>
  requires std::is_void_v<U>
  void SetResult() const {
    state_->BeginSet("set_result");
    state_->value.emplace();
    state_->Finish();
  }
  // Python's set_exception(e); misuse (InvalidStateError) when done.
  void SetException(std::exception_ptr exception) const {
    state_->SetException(std::move(exception));
  }

  // Copies of one Future compare equal.
  friend bool operator==(const Future& a, const Future& b) {
    return a.state_ == b.state_;
  }
  template <typename H>
  friend H AbslHashValue(H h, const Future& f) {
    return H::combine(std::move(h), f.state_);
  }

  // The shared state, for Wait() and AsCompleted().
  internal::FutureCore* core() const { return state_; }

 private:
  template <typename>
  friend class Future;
  friend class ThreadPoolExecutor;

  // Adopts one reference to `state`.
  explicit Future(internal::State<T>* state) : state_(state) {}

  internal::State<T>* state_;
};

}  // namespace pyconc::futures

#endif  // PYCONC_THREADING_POOL_FUTURE_H_
