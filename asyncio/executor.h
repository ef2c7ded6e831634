// Bridges between the event loop and threads: Python's loop.run_in_executor,
// asyncio.to_thread, asyncio.wrap_future and asyncio.run_coroutine_threadsafe,
// on pyconc's ThreadPoolExecutor and futures::Future (//threading/pool).
//
//   absl::StatusOr<int> n = co_await ToThread(CountLines, path);
//                                        // await asyncio.to_thread(...)
//   auto f = RunInExecutor(pool, Compress, data);   // run_in_executor
//   if (f.ok()) Bytes b = co_await *f;
//   futures::Future<int> r = RunCoroutineThreadsafe(Work(), loop);
//   int v = r.Result();                  // on another thread: blocks it
//
// Where things run: the function runs on a pool thread; the awaiting task
// resumes on the loop's thread in an iteration after the pool's future
// completed (its done callback hands the outcome over with
// CallSoonThreadsafe). RunCoroutineThreadsafe's coroutine runs as a task on
// the loop's thread; the returned futures::Future completes there, or in the
// thread that cancels it.
//
// Cancellation, as Python: cancelling the asyncio Future of WrapFuture /
// RunInExecutor (or the task awaiting it) cancels the pool's Future, which
// stops the call only if it has not started. Cancelling the futures::Future
// of RunCoroutineThreadsafe, from any thread, cancels the task on the loop's
// thread in its next iteration (futures._chain_future): the coroutine gets
// CancelledError at its await, and the future is cancelled at once, whatever
// the coroutine then does. Cancel() returns false once the task's outcome is
// being handed over (the future is then running, as Python's
// set_running_or_notify_cancel makes it), and after the loop closed it only
// cancels the future. Where pyconc differs: submitting to a shut-down
// executor (Python's RuntimeError) is a Status, as ThreadPoolExecutor::Submit
// gives it, for RunInExecutor and ToThread alike.
//
// Thread-safety: RunCoroutineThreadsafe may be called from any thread (it is
// the way in for coroutines); the others are called inside a task.

#ifndef PYCONC_ASYNCIO_EXECUTOR_H_
#define PYCONC_ASYNCIO_EXECUTOR_H_

#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
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
// task into a pool future that the caller has claimed.
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

// Python's futures._set_concurrent_future_state: a done task's outcome into
// the pool future, unless that was cancelled first. SetRunningOrNotifyCancel
// is the claim: a Cancel() on another thread either comes first or fails.
template <typename T>
void SetConcurrentFutureState(const Task<T>& from,
                              const futures::Future<T>& to) {
  if (from.Cancelled()) to.Cancel();
  if (to.SetRunningOrNotifyCancel()) CopyOutcome<T>(from, to);
}

// How a cancel of RunCoroutineThreadsafe's futures::Future reaches the task
// (Python's _call_check_cancel in futures._chain_future). Request() may run
// on any thread; the task is touched on the loop's thread only, and only
// until Detach(), which the task's done callback calls as it goes (after it
// ran, or unrun, at loop close), so the task is alive whenever it is touched.
class TaskCancelLink : public std::enable_shared_from_this<TaskCancelLink> {
 public:
  TaskCancelLink(EventLoop& loop, TaskBase* task) : loop_(&loop), task_(task) {}

  // Any thread: the loop cancels the task in its next iteration, unless the
  // link is detached (now or by then) or the loop has closed.
  void Request() ABSL_LOCKS_EXCLUDED(mu_);
  // The loop's thread: later requests do nothing.
  void Detach() ABSL_LOCKS_EXCLUDED(mu_);

  // What the task's done callback holds: detaches the link as the callback
  // goes, whether it ran or not.
  class Detacher {
   public:
    explicit Detacher(std::shared_ptr<TaskCancelLink> link)
        : link_(std::move(link)) {}
    Detacher(Detacher&&) = default;  // Leaves `link_` null behind.
    ~Detacher() {
      if (link_ != nullptr) link_->Detach();
    }

   private:
    std::shared_ptr<TaskCancelLink> link_;
  };

 private:
  void CancelOnLoop() ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex mu_;
  // Null once detached. Request holds mu_ while it posts to the loop, so a
  // loop that has detached every link (by the end of Close) is never touched.
  EventLoop* loop_ ABSL_GUARDED_BY(mu_);
  TaskBase* const task_;  // The loop's thread only.
};

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
// executor; the value (absl::Status for void), or the exception rethrown, at
// the await. A shut-down default executor is a Status, as for RunInExecutor.
template <typename F, typename... Args,
          typename R = std::invoke_result_t<F, Args...>>
Coroutine<internal::StatusOrOf<R>> ToThread(F fn, Args... args) {
  absl::StatusOr<Future<R>> future = RunInExecutor(
      GetRunningLoop().DefaultExecutor(), std::move(fn), std::move(args)...);
  if (!future.ok()) co_return future.status();
  if constexpr (std::is_void_v<R>) {
    co_await *future;
    co_return absl::OkStatus();
  } else {
    co_return co_await *future;
  }
}

// Python's asyncio.run_coroutine_threadsafe(coro, loop): from another thread,
// runs `coro` as a task on `loop` and returns a futures::Future of its result
// (CancelledError there if the task was cancelled); cancelling that future
// cancels the task (see the top of this file). Misuse if the loop is closed.
template <typename T>
futures::Future<T> RunCoroutineThreadsafe(Coroutine<T> coro, EventLoop& loop) {
  futures::Future<T> result;
  loop.CallSoonThreadsafe([&loop, coro = std::move(coro), result]() mutable {
    Task<T> task = loop.CreateTask(std::move(coro));
    auto link = std::make_shared<internal::TaskCancelLink>(loop, task.base());
    internal::TaskCancelLink::Detacher detacher(link);
    task.AddDoneCallback(
        [result, detacher = std::move(detacher)](Task<T>& done) {
          internal::SetConcurrentFutureState(done, result);
        });
    result.AddDoneCallback([link](const futures::Future<T>& done) {
      if (done.Cancelled()) link->Request();
    });
  });
  return result;
}

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_EXECUTOR_H_
