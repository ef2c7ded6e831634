// Timeout, TimeoutAt and WaitFor: Python's asyncio.timeout(delay),
// asyncio.timeout_at(when) and asyncio.wait_for(aw, timeout), 3.12 semantics.
//
// clang-format off
//   Timeout cm(absl::Milliseconds(50));  // async with timeout(0.05) as cm:
//   absl::StatusOr<int> r =              //     r = await slow()
//       co_await cm.Run(Slow());
//   if (cm.Expired()) ...                // cm.expired()
// clang-format on
//
//   absl::StatusOr<int> r = co_await WaitFor(Slow(), absl::Milliseconds(50));
//
// Where it matches Python: the body runs in the calling task; when the
// deadline passes the task is cancelled (Task::Cancel, counted in
// Cancelling()), the CancelledError unwinds the body (destructors and catch
// blocks run, as `finally` does), and Run then uncancels the task and answers
// TimeoutError, exactly when the count drops back to what it was on entry: a
// cancel from elsewhere, or a second one, stays a CancelledError. Nested
// timeouts sharing one deadline therefore give the TimeoutError to the
// outermost only, which had the earliest claim on the count. When(),
// Reschedule() and Expired() are Python's when(), reschedule() and expired();
// an infinite deadline (absl::InfiniteFuture(), absl::InfiniteDuration()) is
// Python's None. WaitFor is 3.12's: a Task is awaited under a Timeout, so a
// timeout cancels the inner task and waits until it has finished cancelling;
// if the inner task swallows the cancel and returns a value, that value is the
// answer; a Future is awaited the same way (the timeout cancels it). With
// timeout <= 0 a finished task's result is returned and a
// Coroutine is never started (its task is cancelled before its first step);
// cancelling the caller while it waits for that cancelled task to finish
// throws CancelledError at once and leaves the task, cancelled once, to end
// on its own. Otherwise cancelling the caller cancels the inner task.
//
// Where C++ forced a difference: there is no `async with`, so the body is a
// Coroutine or Task handed to Run (the Timeout object must outlive that
// await: a temporary, `co_await Timeout(d).Run(x)`, does). TimeoutError is a
// value, not an exception (DESIGN.md, Errors 1): absl::StatusOr<T>
// (absl::Status for void) with kDeadlineExceeded and a message naming
// TimeoutError. The deadline is on the loop's clock (EventLoop::Time()).
//
// Misuse (RuntimeError): Run twice on one Timeout, Run outside a task, or
// Reschedule when not inside Run, with Python's messages ("Timeout has not
// been entered", "Cannot change state of expired Timeout").
//
// Thread-safety: the loop's thread only.

#ifndef PYCONC_ASYNCIO_TIMEOUTS_H_
#define PYCONC_ASYNCIO_TIMEOUTS_H_

#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "asyncio/coroutine.h"
#include "asyncio/errors.h"
#include "asyncio/internal/loop_core.h"
#include "asyncio/internal/schedule.h"
#include "asyncio/task.h"

namespace pyconc::asyncio {
namespace internal {}  // namespace internal

// Python's asyncio.Timeout, the object `async with asyncio.timeout()` yields.
class Timeout final : private internal::TimerNode {
 public:
  // Python's asyncio.timeout(delay): the deadline is the loop's time now plus
  // `delay`; absl::InfiniteDuration() is None.
  explicit Timeout(absl::Duration delay);
  // Python's asyncio.timeout_at(when) / Timeout(when), on the loop's clock;
  // absl::InfiniteFuture() is None.
  explicit Timeout(absl::Time when);
  Timeout(const Timeout&) = delete;
  Timeout& operator=(const Timeout&) = delete;
  ~Timeout();

  // Python's when(): the deadline (absl::InfiniteFuture() for None).
  absl::Time When() const { return when_; }
  // Python's reschedule(when): moves the deadline; a deadline already past
  // cancels at the loop's next iteration. Misuse unless inside Run.
  void Reschedule(absl::Time when);
  // Python's expired(): whether the deadline passed and cancelled the task.
  bool Expired() const {
    return state_ == State::kExpiring || state_ == State::kExpired;
  }

  // `async with self: return await body`: the body's value, TimeoutError when
  // this deadline cut it, or the body's exception rethrown.
  template <typename T>
  Coroutine<internal::StatusOrOf<T>> Run(Coroutine<T> body) {
    return RunAwait<T>(std::move(body));
  }
  template <internal::FutureLike F, typename T = internal::FutureValueT<F>>
  Coroutine<internal::StatusOrOf<T>> Run(F body) {
    return RunAwait<T>(std::move(body));
  }

 private:
  enum class State { kCreated, kEntered, kExpiring, kExpired, kExited };
  static const char* StateName(State state);

  template <typename T, typename A>
  Coroutine<internal::StatusOrOf<T>> RunAwait(A body) {
    Enter();
    // The body's value; a void body leaves it empty.
    std::optional<std::conditional_t<std::is_void_v<T>, std::monostate, T>>
        value;
    try {
      if constexpr (std::is_void_v<T>) {
        co_await std::move(body);
      } else {
        value.emplace(co_await std::move(body));
      }
    } catch (const CancelledError&) {
      if (Exit(true)) co_return internal::TimeoutErrorStatus();
      throw;
    } catch (...) {
      Exit(false);
      throw;
    }
    Exit(false);
    if constexpr (std::is_void_v<T>) {
      co_return absl::OkStatus();
    } else {
      co_return std::move(*value);
    }
  }

  // Python's __aenter__ and __aexit__; Exit returns true when the
  // CancelledError leaving the body becomes TimeoutError.
  void Enter();
  bool Exit(bool cancelled_error);
  // Python's _on_timeout.
  void Fire() override;

  absl::Time when_;
  State state_ = State::kCreated;
  internal::LoopCore* loop_ = nullptr;
  AnyTask task_;
  int cancelling_ = 0;
};

// Python's asyncio.timeout_at(when).
inline Timeout TimeoutAt(absl::Time when) { return Timeout(when); }

// Python's asyncio.wait_for(task_or_future, timeout); see the top of this
// file.
template <internal::FutureLike F, typename T = internal::FutureValueT<F>>
Coroutine<internal::StatusOrOf<T>> WaitFor(F task, absl::Duration timeout);

namespace internal {

// Python's _cancel_and_wait: cancels `task` once and waits until it is done,
// without rethrowing its outcome; a cancel of the caller propagates at once
// and leaves the task alone.
Coroutine<void> CancelAndWait(AnyFuture future);

template <typename F, typename T = FutureValueT<F>>
StatusOrOf<T> ResultOf(const F& task) {
  if constexpr (std::is_void_v<T>) {
    task.Result();
    return absl::OkStatus();
  } else {
    return T(task.Result());
  }
}

}  // namespace internal

template <internal::FutureLike F, typename T>
Coroutine<internal::StatusOrOf<T>> WaitFor(F task, absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration()) {
    if (!task.Done())
      co_await internal::CancelAndWait(internal::AsAnyFuture(task));
    if (task.Cancelled()) co_return internal::TimeoutErrorStatus();
    co_return internal::ResultOf(task);
  }
  Timeout deadline(timeout);
  internal::StatusOrOf<T> result = co_await deadline.Run(std::move(task));
  co_return result;
}

// Python's asyncio.wait_for(coro, timeout): with timeout > 0 the coroutine runs
// in the calling task under a Timeout (3.12); with timeout <= 0 it is wrapped
// in a task that is cancelled before it starts.
template <typename T>
Coroutine<internal::StatusOrOf<T>> WaitFor(Coroutine<T> coro,
                                           absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration()) {
    // Separate statements: g++ 12 mishandles this temporary inside co_await.
    Task<T> task = CreateTask(std::move(coro));
    internal::StatusOrOf<T> result = co_await WaitFor(std::move(task), timeout);
    co_return result;
  }
  Timeout deadline(timeout);
  internal::StatusOrOf<T> result = co_await deadline.Run(std::move(coro));
  co_return result;
}

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_TIMEOUTS_H_
