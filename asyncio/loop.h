// EventLoop: Python's asyncio event loop, single-threaded, on epoll.
//
// Each iteration (Python's BaseEventLoop._run_once) waits in epoll_wait until
// the nearest timer is due or a file descriptor is ready (not at all when
// callbacks are ready), queues the callbacks of ready descriptors and then of
// due timers, and runs every callback and task step that was ready at that
// point, in FIFO order; what they schedule runs in the next iteration.
//
//   EventLoop loop;
//   loop.CallSoon([] { std::puts("first"); });
//   loop.CallLater(absl::Milliseconds(10), [&loop] { loop.Stop(); });
//   loop.RunForever();
//   int x = loop.RunUntilComplete(Compute());   // a Coroutine<int>
//   loop.Close();
//
// Most programs call Run(Main()) (asyncio.run, in run.h) instead.
//
// Errors: an exception thrown by a callback, a task exception nobody
// retrieved, a task destroyed pending, all go to the exception handler
// (Python's loop.call_exception_handler); the default one reports the context
// through //base:report's sink (stderr unless the program replaced it). Misuse
// that Python answers with RuntimeError (running a closed loop, running two
// loops on one thread, RunUntilComplete returning before its future is done)
// fails fast naming the error.
//
// Thread-safety: the loop and everything scheduled on it belong to the thread
// that runs it. The one door in from other threads is CallSoonThreadsafe (it
// wakes a sleeping loop through an eventfd); stop the loop from another thread
// with loop.CallSoonThreadsafe([&] { loop.Stop(); }). Everything the calling
// thread did before CallSoonThreadsafe is visible to the callback when it runs
// (the queue's mutex orders them). Handles (Handle, TimerHandle) of the other
// calls are for the loop's thread.

#ifndef PYCONC_ASYNCIO_LOOP_H_
#define PYCONC_ASYNCIO_LOOP_H_

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "asyncio/coroutine.h"
#include "asyncio/debug.h"
#include "asyncio/future.h"
#include "asyncio/handle.h"
#include "asyncio/internal/loop_core.h"
#include "asyncio/task.h"

namespace pyconc::futures {
class ThreadPoolExecutor;
}  // namespace pyconc::futures

namespace pyconc::asyncio::internal {
class SignalHandlers;
}  // namespace pyconc::asyncio::internal

namespace pyconc::asyncio {

class EventLoop : public internal::LoopCore {
 public:
  // Python's new_event_loop(), with running out as a value: the loop, or the
  // OSError that creating its epoll or eventfd descriptor raised, made by
  // //base:errors' ErrnoError (no descriptor left is kResourceExhausted,
  // "OSError: [Errno 24] Too many open files: epoll_create1").
  static absl::StatusOr<std::unique_ptr<EventLoop>> Create();
  // Python's new_event_loop(). Debug mode starts on when PYCONC_ASYNCIO_DEBUG
  // is set. When its descriptors cannot be created (none left), it aborts
  // naming Python's OSError and the errno's text; a program that handles that
  // uses Create().
  EventLoop();
  // Closes the loop if it is not closed yet (misuse if it is running).
  ~EventLoop();

  // Python's loop.call_soon(callback): runs `callback` in the next iteration,
  // after the callbacks already scheduled.
  Handle CallSoon(absl::AnyInvocable<void()> callback,
                  internal::Where where = internal::Where::Here());
  // Python's loop.call_later(delay, callback).
  TimerHandle CallLater(absl::Duration delay,
                        absl::AnyInvocable<void()> callback,
                        internal::Where where = internal::Where::Here());
  // Python's loop.call_at(when, callback), `when` on the clock of Time().
  TimerHandle CallAt(absl::Time when, absl::AnyInvocable<void()> callback,
                     internal::Where where = internal::Where::Here());
  // Python's loop.time(): the loop's monotonic clock (CLOCK_MONOTONIC as an
  // absl::Time; compare it only with other Time() values).
  absl::Time Time() const;
  // Python's loop.call_soon_threadsafe(callback). Thread-safe: from any
  // thread, it wakes the loop if it is waiting. Misuse once closed.
  Handle CallSoonThreadsafe(absl::AnyInvocable<void()> callback,
                            internal::Where where = internal::Where::Here())
      ABSL_LOCKS_EXCLUDED(mu_);

  // CallSoonThreadsafe that returns false (dropping `callback`) instead of
  // failing when the loop is closed; for callbacks from pool threads, which
  // may complete after the loop closed. Thread-safe, also against a Close()
  // running meanwhile: the callback is either queued (and dropped by Close)
  // or refused.
  bool TryCallSoonThreadsafe(absl::AnyInvocable<void()> callback,
                             internal::Where where = internal::Where::Here())
      ABSL_LOCKS_EXCLUDED(mu_);
  // Python's loop's default executor (run_in_executor(None, ...), to_thread):
  // a ThreadPoolExecutor created on first use and shut down, waiting, by
  // Close(). Call on the loop's thread.
  futures::ThreadPoolExecutor& DefaultExecutor();

  // Python's loop.run_forever(): runs iterations until Stop().
  void RunForever();
  // Python's loop.run_until_complete(coro): wraps it in a task, runs the loop
  // until the task is done, and returns its value or rethrows its exception.
  template <typename T>
  T RunUntilComplete(Coroutine<T> coro) {
    Task<T> task = CreateTask(std::move(coro));
    RunUntilDone(task.base());
    return T(task.Result());
  }
  // Python's loop.run_until_complete(task_or_future).
  template <typename T>
  T RunUntilComplete(const Task<T>& task) {
    RunUntilDone(task.base());
    return T(task.Result());
  }
  template <typename T>
  T RunUntilComplete(const Future<T>& future) {
    RunUntilDone(future.base());
    return T(future.Result());
  }
  // Python's loop.stop(): the loop stops after the current iteration (or, if
  // it is not running, right after its next one).
  void Stop();
  // Python's loop.close(): pending tasks are reported and destroyed, pending
  // callbacks dropped. Misuse while running; idempotent.
  void Close();
  // Python's loop.is_running(), loop.is_closed().
  bool IsRunning() const { return running_; }
  bool IsClosed() const { return closed_; }

  // Python's loop.create_task(coro, name=...): the loop need not be running.
  template <typename T>
  Task<T> CreateTask(Coroutine<T> coro, TaskOptions options = {}) {
    return internal::NewTask(*this, std::move(coro), options);
  }
  // Python's loop.create_future().
  template <typename T = void>
  Future<T> CreateFuture() {
    return Future<T>(*this);
  }

  // Python's loop.add_reader(fd, callback): `callback` runs in every
  // iteration in which `fd` is readable, until RemoveReader. Replaces a
  // previous reader of `fd`.
  void AddReader(int fd, absl::AnyInvocable<void()> callback,
                 internal::Where where = internal::Where::Here()) {
    WatchFd(fd, /*writer=*/false, std::move(callback), where);
  }
  // Python's loop.remove_reader(fd): whether a reader was registered.
  bool RemoveReader(int fd) { return UnwatchFd(fd, /*writer=*/false); }
  // Python's loop.add_writer(fd, callback) / remove_writer(fd).
  void AddWriter(int fd, absl::AnyInvocable<void()> callback,
                 internal::Where where = internal::Where::Here()) {
    WatchFd(fd, /*writer=*/true, std::move(callback), where);
  }
  bool RemoveWriter(int fd) { return UnwatchFd(fd, /*writer=*/true); }

  // Python's loop.add_signal_handler(sig, callback): `callback` runs on the
  // loop's thread, as a callback of the iteration after `sig` arrives,
  // replacing a previous handler of `sig`. Call it on the loop's thread.
  // ValueError when `sig` is out of range, RuntimeError for SIGKILL and
  // SIGSTOP ("sig 9 cannot be caught"), as Python raises; RuntimeError too
  // when another loop of the process handles `sig`.
  //
  // How it works, and what it means for the program: the loop reads `sig`
  // from a signalfd, for which `sig` must be blocked; it is blocked in the
  // calling thread, and threads that thread creates afterwards inherit the
  // block. Threads created before do not block it, so the kernel may hand a
  // process-directed `sig` (kill, Ctrl-C) to one of them: the disposition the
  // loop installs (a forwarder, where Python installs a no-op) re-sends it to
  // the loop's thread, so the callback runs all the same. A program that
  // changes `sig`'s disposition (sigaction) or unblocks it in the loop's
  // thread afterwards takes it away from the loop. Child processes started
  // with CreateSubprocessExec/Shell do not inherit the block; ones the
  // program forks itself do (unblock `sig` in the child).
  void AddSignalHandler(int sig, absl::AnyInvocable<void()> callback);
  // Python's loop.remove_signal_handler(sig): whether a handler was
  // installed. Restores the default disposition (SIG_DFL; Python's is
  // default_int_handler for SIGINT, which raises KeyboardInterrupt) and the
  // thread's former mask; a `sig` that arrived but whose callback has not
  // run yet is dropped. ValueError when `sig` is out of range. Close()
  // removes every handler.
  bool RemoveSignalHandler(int sig);

  using ExceptionHandler =
      absl::AnyInvocable<void(EventLoop&, const ExceptionContext&)>;
  // Python's loop.set_exception_handler(handler); an empty handler restores
  // the default.
  void SetExceptionHandler(ExceptionHandler handler);
  // Python's loop.call_exception_handler(context).
  using internal::LoopCore::CallExceptionHandler;
  // Python's loop.default_exception_handler(context): reports the context
  // through //base:report's sink, stderr by default.
  static void DefaultExceptionHandler(const ExceptionContext& context);

  // Python's loop.set_task_factory(asyncio.eager_task_factory) (kEager) or
  // set_task_factory(None) (kDefault), and get_task_factory(); task.h says
  // what an eager task does.
  void SetTaskFactory(TaskFactory factory) {
    eager_task_factory_ = factory == TaskFactory::kEager;
  }
  TaskFactory GetTaskFactory() const {
    return eager_task_factory_ ? TaskFactory::kEager : TaskFactory::kDefault;
  }
  // Python's loop.set_debug() / get_debug(); see debug.h.
  void SetDebug(bool enabled) { debug_ = enabled; }
  bool GetDebug() const { return debug_; }
  // Python's loop.slow_callback_duration (100 ms by default).
  void set_slow_callback_duration(absl::Duration d) { slow_callback_ = d; }

  // Runs until `future` is done (RunUntilComplete without the value).
  void RunUntilDone(internal::FutureBase* future);
  // One iteration; Python's _run_once. For tests and embedding.
  void RunOnce();

 private:
  friend class internal::SignalHandlers;
  // A loop without its descriptors yet (Create() opens them).
  struct Unopened {};
  explicit EventLoop(Unopened);
  // Creates the epoll and eventfd descriptors.
  absl::Status Open();
  // Queues `node` (taking its first reference) for the next iteration and
  // wakes the loop; false, leaving `node` to the caller, once closed.
  bool EnqueueThreadsafe(internal::CallbackNode* node) ABSL_LOCKS_EXCLUDED(mu_);
  void DrainThreadsafe() ABSL_LOCKS_EXCLUDED(mu_);
  void RunBatch();

  int wake_fd_ = -1;  // Written by other threads under mu_.
  bool running_ = false;
  bool stopping_ = false;
  absl::Duration slow_callback_ = absl::Milliseconds(100);
  std::unique_ptr<futures::ThreadPoolExecutor> default_executor_;
  std::unique_ptr<internal::SignalHandlers> signals_;  // On first use.

  absl::Mutex mu_;
  std::vector<internal::CallbackNode*> threadsafe_ ABSL_GUARDED_BY(mu_);
  bool closed_for_threads_ ABSL_GUARDED_BY(mu_) = false;
};

// Python's asyncio.get_running_loop(): the loop running on this thread;
// misuse (RuntimeError) when none is.
EventLoop& GetRunningLoop();

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_LOOP_H_
