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
#include "base/misuse.h"
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
  // "RuntimeError: ..."; when broken: Unavailable "BrokenExecutor: ..."; when
  // the call needs a new worker and the OS cannot create a thread, the
  // status Thread::Start() answered ("RuntimeError: can't start new thread
  // ..."), and the call does not run (Python's stays queued).
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
    // A refused call is cancelled, and so is one that no worker could be
    // started for, unless a worker took it meanwhile: an error means the call
    // never runs.
    if (absl::Status status = Enqueue(task); !status.ok() && future.Cancel()) {
      return status;
    }
    return future;
  }

  // Python's map(fn, *iterables, timeout, buffersize): fn(x, y, ...) for the
  // elements of the ranges in lockstep, ending with the shortest (as zip()),
  // yielding the results in input order. Every call is submitted at once, or
  // with `buffersize` that many ahead of the reader (see MapOptions). A
  // call's exception is rethrown when its item is reached; at the timeout
  // (counted from this call) the last item is DeadlineExceeded "TimeoutError"
  // and the unfinished calls are cancelled, as they are when the range is
  // destroyed early. The options come last:
  //   pool.Map(fn, xs, {.timeout = absl::Seconds(5)})
  //   pool.Map(fn, xs, ys, MapOptions{.buffersize = 4})
  template <typename F, typename Range>
  auto Map(const F& fn, Range&& inputs, MapOptions options = {}) {
    return MapZipped(options, fn, std::forward<Range>(inputs));
  }
  template <typename F, typename Range1, typename Range2, typename... More>
  requires(!std::is_same_v<std::decay_t<Range2>, MapOptions>) auto Map(
      const F& fn, Range1&& first, Range2&& second, More&&... more) {
    return internal::WithTrailingOptions<MapOptions>(
        [&](const MapOptions& options, auto&&... ranges) {
          return MapZipped(options, fn,
                           std::forward<decltype(ranges)>(ranges)...);
        },
        std::forward<Range1>(first), std::forward<Range2>(second),
        std::forward<More>(more)...);
  }

  // Like Map(), but yields each result as soon as its call finishes (the
  // thread-pool twin of the process pool's MapUnordered, Python's
  // Pool.imap_unordered()); every call is submitted at once (buffersize is
  // misuse here). Options last, as for Map().
  template <typename F, typename... Args>
  auto MapUnordered(const F& fn, Args&&... args) {
    return internal::WithTrailingOptions<MapOptions>(
        [&](const MapOptions& options, auto&&... ranges) {
          if (options.buffersize.has_value()) {
            pyconc::internal::Misuse("ValueError",
                                     "MapUnordered() takes no buffersize");
          }
          using Zip = decltype(internal::Zip(
              std::forward<decltype(ranges)>(ranges)...));
          using R = typename Zip::template Result<std::decay_t<F>>;
          return MapUnorderedResults<R>::Start(
              NextCall<R>(fn, std::make_shared<Zip>(
                                  std::forward<decltype(ranges)>(ranges)...)),
              absl::Now() + options.timeout);
        },
        std::forward<Args>(args)...);
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

  // Map() over the zipped ranges.
  template <typename F, typename... Ranges>
  auto MapZipped(const MapOptions& options, const F& fn, Ranges&&... inputs) {
    using Zip = decltype(internal::Zip(std::forward<Ranges>(inputs)...));
    using R = typename Zip::template Result<std::decay_t<F>>;
    const absl::Time deadline = absl::Now() + options.timeout;
    return MapResults<R>::Start(
        NextCall<R>(fn, std::make_shared<Zip>(std::forward<Ranges>(inputs)...)),
        deadline, options.buffersize);
  }

  // Submits fn(the next elements of `zip`), a chunk of one call.
  template <typename R, typename F, typename Zip>
  internal::NextChunk<R> NextCall(const F& fn, std::shared_ptr<Zip> zip) {
    return [this, fn, zip = std::move(zip)]()
               -> std::optional<absl::StatusOr<std::vector<Future<R>>>> {
      if (zip->Done()) return std::nullopt;
      absl::StatusOr<Future<R>> future =
          zip->Take([&](auto&&... args) { return Submit(fn, args...); });
      if (!future.ok()) return future.status();
      return std::vector<Future<R>>{*std::move(future)};
    };
  }

  // Queues `item`, taking the queue's reference (dropped at once when the
  // call is refused). An error after the item was queued means no worker
  // could be started for it; it stays queued.
  absl::Status Enqueue(internal::WorkItem* item);
  // Python's _adjust_thread_count(): an error when a needed worker could not
  // be started.
  absl::Status AdjustThreadCount() ABSL_LOCKS_EXCLUDED(mu_);
  void WakeOneIfSleeping() ABSL_LOCKS_EXCLUDED(mu_);
  void WorkerMain();
  // Runs `item` as WorkerMain() does, recording the call, its flow from
  // Submit() and the number of calls running.
  void RunTraced(internal::WorkItem* item);
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
  // Calls running, counted only while a trace records (RunTraced()).
  std::atomic<int> calls_running_{0};

  alignas(64) absl::Mutex mu_;
  absl::CondVar work_available_;
  int wake_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  int idle_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<threading::Thread> threads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pyconc::futures

#endif  // PYCONC_THREADING_POOL_EXECUTOR_H_
