// Bridges between the event loop and threads: Python's loop.run_in_executor,
// asyncio.to_thread, asyncio.wrap_future and asyncio.run_coroutine_threadsafe,
// on pyconc's ThreadPoolExecutor and futures::Future (//threading/pool).
//
//   int n = co_await ToThread(CountLines, path);           // await
//   to_thread(...) auto f = RunInExecutor(pool, Compress, data);          //
//   run_in_executor if (f.ok()) Bytes b = co_await *f; futures::Future<int> r =
//   RunCoroutineThreadsafe(Work(), loop);  // another thread int v =
//   r.Result();                                    // blocks that thread
//
// Where things run: the function runs on a pool thread; the awaiting task
// resumes on the loop's thread in an iteration after the pool's future
// completed (its done callback hands the outcome over with
// CallSoonThreadsafe). RunCoroutineThreadsafe's coroutine runs as a task on
// the loop's thread; the returned futures::Future completes there.
//
// Cancellation, as Python: cancelling the asyncio Future of WrapFuture /
// RunInExecutor (or the task awaiting it) cancels the pool's Future, which
// stops the call only if it has not started. Where pyconc differs:
// cancelling the futures::Future of RunCoroutineThreadsafe does not cancel the
// task (the pool's Future has no hook for it yet); submitting to a shut-down
// executor is a Status, as ThreadPoolExecutor::Submit gives it.
//
// Thread-safety: RunCoroutineThreadsafe may be called from any thread (it is
// the way in for coroutines); the others are called inside a task.

#ifndef PYCONC_ASYNCIO_EXECUTOR_H_
#define PYCONC_ASYNCIO_EXECUTOR_H_

#include <exception>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "asyncio/coroutine.h"
#include "asyncio/future.h"
#include "asyncio/loop.h"
#include "asyncio/task.h"
#include "threading/pool/executor.h"
#include "threading/pool/future.h"

namespace pyconc::asyncio {
namespace internal {

// One reference to a loop-bound future's state, carried through a pool
// thread without touching its count there. If it is dropped without Take()
// (the loop closed before the outcome arrived) the state is leaked rather than
// released on the wrong thread.
template <typename T>
class CrossThreadRef {
 public:
  explicit CrossThreadRef(Future<T> future)
      : state_(std::move(future).ReleaseState()) {}
  CrossThreadRef(CrossThreadRef&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)) {}
  CrossThreadRef& operator=(CrossThreadRef&&) = delete;
  // On the loop's thread: the handle back.
  Future<T> Take() {
    return Future<T>::AdoptState(std::exchange(state_, nullptr));
  }

 private:
  FutureState<T>* state_;
};

// Copies a finished future's outcome (value, exception or cancellation) into
// a pending one, across the two kinds: a pool future into a loop future, or a
// task into a pool future.
template <typename T, typename From, typename To>
void CopyOutcome(const From& from, To& to) {
  if (to.Done()) return;  // Cancelled meanwhile.
  if (from.Cancelled()) {
    to.Cancel();
  } else if (std::exception_ptr error = from.Exception()) {
    to.SetException(error);
  } else if constexpr (std::is_void_v<T>) {
    to.SetResult();
  } else {
    to.SetResult(from.Result());
  }
}

[[noreturn]] void ToThreadFailed(const absl::Status& status);

}  // namespace internal

// Python's asyncio.wrap_future(future): a loop-bound Future (on the running
// loop) that completes like `source`; cancelling it cancels `source`.
template <typename T>
Future<T> WrapFuture(futures::Future<T> source) {
  EventLoop& loop = GetRunningLoop();
  Future<T> destination = loop.CreateFuture<T>();
  destination.AddDoneCallback([source](Future<T>& done) {
    if (done.Cancelled()) source.Cancel();
  });
  internal::CrossThreadRef<T> ref(destination);
  source.AddDoneCallback(
      [&loop, ref = std::move(ref)](const futures::Future<T>& done) mutable {
        loop.TryCallSoonThreadsafe([ref = std::move(ref), done]() mutable {
          Future<T> to = ref.Take();
          internal::CopyOutcome<T>(done, to);
        });
      });
  return destination;
}

// Python's loop.run_in_executor(executor, fn, *args): submits fn(args...) to
// `executor` and returns a loop-bound Future of its result.
template <typename F, typename... Args>
auto RunInExecutor(futures::ThreadPoolExecutor& executor, F&& fn,
                   Args&&... args)
    -> absl::StatusOr<
        Future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>>> {
  auto submitted =
      executor.Submit(std::forward<F>(fn), std::forward<Args>(args)...);
  if (!submitted.ok()) return submitted.status();
  return WrapFuture(*std::move(submitted));
}

// Python's asyncio.to_thread(fn, *args): fn(args...) on the loop's default
// executor; the value, or the exception rethrown, at the await.
template <typename F, typename... Args,
          typename R = std::invoke_result_t<F, Args...>>
Coroutine<R> ToThread(F fn, Args... args) {
  absl::StatusOr<Future<R>> future = RunInExecutor(
      GetRunningLoop().DefaultExecutor(), std::move(fn), std::move(args)...);
  if (!future.ok()) internal::ToThreadFailed(future.status());
  if constexpr (std::is_void_v<R>) {
    co_await *future;
  } else {
    co_return co_await *future;
  }
}

// Python's asyncio.run_coroutine_threadsafe(coro, loop): from another thread,
// runs `coro` as a task on `loop` and returns a futures::Future of its result
// (CancelledError there if the task was cancelled). Misuse if the loop is
// closed.
template <typename T>
futures::Future<T> RunCoroutineThreadsafe(Coroutine<T> coro, EventLoop& loop) {
  futures::Future<T> result;
  loop.CallSoonThreadsafe([&loop, coro = std::move(coro), result]() mutable {
    Task<T> task = loop.CreateTask(std::move(coro));
    task.AddDoneCallback([result](Task<T>& done) mutable {
      internal::CopyOutcome<T>(done, result);
    });
  });
  return result;
}

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_EXECUTOR_H_
