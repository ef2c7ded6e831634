// ThreadPoolExecutor: Python's concurrent.futures.ThreadPoolExecutor for C++.
//
// A fixed-size team of worker threads runs submitted calls and hands back a
// Future for each. Python to C++:
//
//   with ThreadPoolExecutor(max_workers=4) as pool:
//       f = pool.submit(fn, 1, 2)
//       for r in pool.map(fn, xs, timeout=5): ...
//   ->
//   ThreadPoolExecutor pool({.max_workers = 4});
//   absl::StatusOr<Future<R>> f = pool.Submit(fn, 1, 2);
//   for (absl::StatusOr<R> r : pool.Map(fn, xs, {.timeout = absl::Seconds(5)}))
//   // ~ThreadPoolExecutor() is shutdown(wait=True), as leaving `with`.
//
// As in Python: workers start lazily, one per Submit() while no worker is idle
// and fewer than max_workers run (Python's idle semaphore); they are
// pyconc::threading::Threads named "<prefix>_<n>" ("ThreadPoolExecutor-0_0" by
// default). Calls run in submission order (FIFO). A failing initializer breaks
// the executor: queued Futures fail with BrokenExecutor and later Submit()s
// are refused.
//
// Where C++ differs: Submit() after Shutdown() or on a broken executor is an
// expected outcome, so it answers an error status instead of raising
// (FailedPrecondition "RuntimeError: cannot schedule new futures after
// shutdown"; Unavailable "BrokenExecutor: ..."). Workers are daemon threads:
// the destructor joins them, but an executor that is never destroyed does not
// hold the process open.
//
// A task that blocks on another task of the same pool: while the pool has room
// to grow, the Submit() of the awaited task starts a new worker (no worker is
// idle, fewer than max_workers run), so it does not deadlock. When all
// max_workers workers block on tasks still queued behind them, the pool
// deadlocks, as Python's does; size the pool for such nesting or do not wait
// inside tasks.
//
// Cost: one allocation per call (the call and its Future's state together).
// Submit() takes no lock: it appends to an intrusive queue with one atomic
// exchange, and locks only to wake a sleeping worker or to start one; an idle
// worker spins a few microseconds before it sleeps, so a busy submitter rarely
// pays for a wake-up. Completing a Future that nobody waits on takes no lock.
// Workers take one call at a time, not batches: a batch would hide queued
// calls from idle workers, and a call waiting on another in its own batch
// would deadlock a pool with idle workers.
//
// Thread-safety: every member function may be called from any thread,
// including from the pool's own tasks, except that Shutdown({.wait = true}) and
// the destructor must not run on a worker of the same pool (joining oneself is
// misuse). Everything a task did is visible to a thread once its Future is
// done there.

#ifndef PYCONC_THREADING_POOL_EXECUTOR_H_
#define PYCONC_THREADING_POOL_EXECUTOR_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "threading/pool/future.h"
#include "threading/pool/internal/work_queue.h"
#include "threading/pool/map_results.h"
#include "threading/thread/thread.h"

namespace pyconc::futures {

// The keyword arguments of Python's ThreadPoolExecutor().
struct ThreadPoolOptions {
  // Unset: min(32, cores + 4), as Python. Zero or less is misuse (ValueError).
  std::optional<int> max_workers;
  // Empty: "ThreadPoolExecutor-<k>", k counting executors from 0.
  std::string thread_name_prefix;
  // Runs first in every worker (Python's initializer + initargs: bind the
  // arguments in a lambda). If it throws, the executor is broken.
  std::function<void()> initializer;
};

// The keyword arguments of Python's Executor.shutdown().
struct ShutdownOptions {
  // Wait until every queued call has run and the workers have exited.
  bool wait = true;
  // Cancel the calls that no worker has started yet.
  bool cancel_futures = false;
};

// Python's concurrent.futures.ThreadPoolExecutor. See the top of this file.
class ThreadPoolExecutor {
 public:
  explicit ThreadPoolExecutor(ThreadPoolOptions options = {});
  ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;
  // Shutdown({.wait = true}), as leaving Python's `with` block.
  ~ThreadPoolExecutor();

  // Python's submit(fn, *args): schedules fn(args...) (decayed copies, moved
  // into the call) and returns its Future. After Shutdown(): FailedPrecondition
  // "RuntimeError: ..."; when broken: Unavailable "BrokenExecutor: ...".
  template <typename F, typename... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
      absl::StatusOr<
          Future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>>>
      Submit(F&& fn, Args&&... args) {
    using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
    auto call = [fn = std::decay_t<F>(std::forward<F>(fn)),
                 ... args = std::decay_t<Args>(
                     std::forward<Args>(args))]() mutable -> R {
      return std::invoke(std::move(fn), std::move(args)...);
    };
    auto* task = new internal::Task<R, decltype(call)>(std::move(call));
    Future<R> future(task);  // Adopts the Future's reference.
    if (absl::Status status = Enqueue(task); !status.ok()) {
      task->Unref();  // The queue's reference.
      return status;
    }
    return future;
  }

  // Python's map(fn, inputs, timeout): submits fn(input) for every input at
  // once and yields the results in input order. A call's exception is rethrown
  // when its item is reached; at the timeout (counted from this call) the last
  // item is DeadlineExceeded "TimeoutError" and the unfinished calls are
  // cancelled, as they are when the range is destroyed early. One iterable
  // only (zip several yourself).
  template <typename F, typename Range>
  auto Map(const F& fn, const Range& inputs, MapOptions options = {})
      -> MapResults<std::invoke_result_t<
          const F&, decltype(*std::begin(std::declval<const Range&>()))>> {
    using R =
        std::invoke_result_t<const F&, decltype(*std::begin(
                                           std::declval<const Range&>()))>;
    const absl::Time deadline = absl::Now() + options.timeout;
    std::vector<Future<R>> futures;
    for (const auto& input : inputs) {
      absl::StatusOr<Future<R>> future = Submit(fn, input);
      if (!future.ok()) {
        for (const Future<R>& f : futures) f.Cancel();
        return MapResults<R>(future.status());
      }
      futures.push_back(*std::move(future));
    }
    return MapResults<R>(std::move(futures), deadline);
  }

  // Python's shutdown(wait, cancel_futures): refuses new calls; with
  // cancel_futures cancels the queued ones; with wait joins the workers after
  // they have run what is left. Calling it again is harmless.
  void Shutdown(ShutdownOptions options = {});

  // Python's _max_workers.
  int max_workers() const { return max_workers_; }
  // How many workers have been started (Python's len(_threads)).
  int num_threads() const {
    return num_threads_.load(std::memory_order_acquire);
  }

 private:
  // Gate bits: refuse Submit(); the count of Submit()s in flight is above.
  static constexpr uint64_t kShutdownBit = 1;
  static constexpr uint64_t kBrokenBit = 2;
  static constexpr uint64_t kOneSubmit = 4;

  absl::Status Enqueue(internal::WorkItem* item);
  // Python's _adjust_thread_count().
  void AdjustThreadCount() ABSL_LOCKS_EXCLUDED(mu_);
  void WakeOneIfSleeping() ABSL_LOCKS_EXCLUDED(mu_);
  void WorkerMain();
  // The next call: spins briefly when the queue is empty, as a submitter
  // that is still busy will push again soon, then sleeps. nullptr: exit.
  internal::WorkItem* NextItem();
  // Blocks until there is work (returned) or the executor has shut down and
  // drained (nullptr).
  internal::WorkItem* Sleep() ABSL_LOCKS_EXCLUDED(mu_);
  // Called by a worker that finished a call, before its Future completes: when
  // nothing is queued it will be idle (Python's _idle_semaphore.release()).
  // Before the Future completes, so that the next Submit() of a caller waiting
  // on it finds the idle worker.
  void NoteIdle() ABSL_LOCKS_EXCLUDED(mu_);
  bool MayExit() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Python's _initializer_failed().
  void InitializerFailed();
  // Waits until no Submit() is between its gate check and its push.
  void AwaitNoSubmitInFlight() const;

  const int max_workers_;
  const std::string thread_name_prefix_;
  const std::function<void()> initializer_;

  // Written by every Submit(); read by workers only when they run dry.
  alignas(64) std::atomic<uint64_t> gate_{0};
  internal::WorkQueue queue_;
  // Read by every Submit(), rarely written.
  alignas(64) std::atomic<int> num_threads_{0};
  // Workers in Sleep(); changed under mu_, read without it by Submit().
  std::atomic<int> sleepers_{0};

  alignas(64) absl::Mutex mu_;
  absl::CondVar work_available_;
  int wake_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  int idle_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<threading::Thread> threads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pyconc::futures

#endif  // PYCONC_THREADING_POOL_EXECUTOR_H_
