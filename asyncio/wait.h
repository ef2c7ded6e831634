// Wait and AsCompleted: Python's asyncio.wait(fs, timeout=, return_when=) and
// asyncio.as_completed(fs, timeout=).
//
//   WaitResult<int> r = co_await Wait(tasks, {.timeout = absl::Seconds(1),
//       .return_when = ReturnWhen::kFirstCompleted});
//   for (Task<int>& t : r.done) ...            // done, pending = await wait()
//
//   AsCompleted<int> next(tasks);                // for f in as_completed(fs):
//   while (next.HasNext()) {
//     absl::StatusOr<Task<int>> t = co_await next.Next();  //   await f
//   }
//
// Wait, AsCompleted (and Gather, WaitFor, Shield) take Futures as they take
// Tasks, as Python's take any future.
//
// Where it matches Python: Wait answers when all tasks are done
// (kAllCompleted), when any is (kFirstCompleted), or when any finishes with an
// exception (kFirstException; a cancelled task is not an exception), or when
// the timeout passes, whichever comes first. It never cancels a task, also on
// timeout: what is not done is in `pending`. The answer comes through done
// callbacks, so a task that is already done is seen in the loop's next
// iteration. Cancelling the task that awaits Wait throws CancelledError there
// and leaves the tasks alone. AsCompleted gives the tasks in the order they
// finish; after the timeout every further Next() answers TimeoutError and the
// remaining tasks keep running.
//
// As Python's, which take a set, a task given twice counts once: it appears
// once in done or pending, and AsCompleted gives it once; AsCompleted of no
// tasks gives nothing.
//
// Where C++ forced a difference: done and pending are vectors in the order
// of the input (first occurrences), not sets. AsCompleted gives the done Task
// itself (Python 3.13's `async for`), so its value or exception is read with
// `co_await t` or Result(); TimeoutError is a status value (DESIGN.md, Errors
// 1).
//
// Misuse (ValueError): Wait with no tasks; Next() past the end.
//
// Thread-safety: the loop's thread only.

#ifndef PYCONC_ASYNCIO_WAIT_H_
#define PYCONC_ASYNCIO_WAIT_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "asyncio/coroutine.h"
#include "asyncio/errors.h"
#include "asyncio/future.h"
#include "asyncio/internal/group_wait.h"
#include "asyncio/internal/loop_core.h"
#include "asyncio/internal/schedule.h"
#include "asyncio/task.h"

namespace pyconc::asyncio {

// Python's FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED.
enum class ReturnWhen { kAllCompleted, kFirstCompleted, kFirstException };

// The keyword arguments of Python's asyncio.wait.
struct WaitOptions {
  // absl::InfiniteDuration() is Python's timeout=None.
  absl::Duration timeout = absl::InfiniteDuration();
  ReturnWhen return_when = ReturnWhen::kAllCompleted;
};

// Python's (done, pending), each in the order of the input: Tasks, or
// Futures when Wait was given Futures.
template <typename T, typename F = Task<T>>
struct WaitResult {
  std::vector<F> done;
  std::vector<F> pending;
};

namespace internal {

// What Wait's futures and its timeout timer report to (kept alive by the
// futures' done callbacks).
struct WaitState final : GroupWaitState, TimerNode {
  void Fire() override { Answer(); }
  // Wakes the task once, with the timer gone.
  void Answer();
  size_t remaining = 0;
  ReturnWhen return_when = ReturnWhen::kAllCompleted;
  bool cancelled = false;
  std::string cancel_message;
  LoopCore* loop = nullptr;
};

// Python's _wait: the Waitable the awaiting task is suspended on.
class WaitWaiter final : public GroupWaiter<WaitState> {
 public:
  WaitWaiter(std::vector<AnyFuture> futures, const WaitOptions& options);
  ~WaitWaiter();

  // Throws CancelledError when the awaiting task was cancelled.
  void await_resume();

  bool CancelWait(const std::string& message) override;
  std::string DescribeWait() const override;
  void ForEachAwaited(absl::FunctionRef<void(FutureBase*)> fn) override;

 private:
  std::vector<AnyFuture> futures_;
  std::vector<uint64_t> callback_ids_;
};

template <typename F>
Coroutine<WaitResult<FutureValueT<F>, F>> WaitFutures(std::vector<F> futures,
                                                      WaitOptions options) {
  co_await WaitWaiter(AsAnyFutures(futures), options);
  WaitResult<FutureValueT<F>, F> result;
  for (F& f : futures) {
    (f.Done() ? result.done : result.pending).push_back(std::move(f));
  }
  co_return result;
}

[[noreturn]] void EmptyWait(const char* what);

// `futures` with each one once, first occurrences in order (Python's
// set(fs)).
template <typename F>
std::vector<F> Unique(std::vector<F> futures) {
  absl::flat_hash_set<const FutureBase*> seen;
  std::vector<F> unique;
  unique.reserve(futures.size());
  for (F& f : futures) {
    if (seen.insert(f.base()).second) unique.push_back(std::move(f));
  }
  return unique;
}

}  // namespace internal

// Python's asyncio.wait(tasks, timeout=, return_when=); see the top of this
// file. Misuse (ValueError) when `tasks` is empty.
template <typename T>
Coroutine<WaitResult<T>> Wait(std::vector<Task<T>> tasks,
                              WaitOptions options = {}) {
  if (tasks.empty()) internal::EmptyWait("Wait");
  return internal::WaitFutures(internal::Unique(std::move(tasks)), options);
}
// Python's asyncio.wait(futures, ...) over Futures: done and pending are the
// Futures.
template <typename T>
Coroutine<WaitResult<T, Future<T>>> Wait(std::vector<Future<T>> futures,
                                         WaitOptions options = {}) {
  if (futures.empty()) internal::EmptyWait("Wait");
  return internal::WaitFutures(internal::Unique(std::move(futures)), options);
}

namespace internal {

// What AsCompleted shares with the tasks' done callbacks.
class AsCompletedState final : public TimerNode {
 public:
  void Fire() override;
  void Push(size_t index);

  std::deque<size_t> done;
  std::unique_ptr<Future<void>> signal;  // Set while Next() is waiting.
  LoopCore* loop = nullptr;
  bool timed_out = false;
};

}  // namespace internal

// Python's asyncio.as_completed(tasks, timeout=); see the top of this file.
// AsCompleted<T> gives Task<T>s; over Futures it is AsCompleted<T, Future<T>>
// (`AsCompleted next(futures)` deduces either).
template <typename T, typename F = Task<T>>
class AsCompleted {
 public:
  // Starts watching `tasks`, each once; the timeout runs from here.
  explicit AsCompleted(std::vector<F> tasks,
                       absl::Duration timeout = absl::InfiniteDuration())
      : tasks_(internal::Unique(std::move(tasks))),
        state_(std::make_shared<internal::AsCompletedState>()) {
    state_->loop = &internal::RunningLoopOrDie("AsCompleted");
    for (size_t i = 0; i < tasks_.size(); ++i) {
      tasks_[i].AddDoneCallback([state = state_, i](F&) { state->Push(i); });
    }
    if (timeout != absl::InfiniteDuration()) {
      state_->loop->AddTimer(
          state_.get(),
          internal::LoopCore::NowNs() + absl::ToInt64Nanoseconds(timeout));
    }
  }
  AsCompleted(const AsCompleted&) = delete;
  AsCompleted& operator=(const AsCompleted&) = delete;
  ~AsCompleted() { state_->loop->RemoveTimer(state_.get()); }

  // Whether Next() has a task left to give.
  bool HasNext() const { return given_ < tasks_.size(); }

  // The next task to finish, or TimeoutError once the timeout has passed.
  // Misuse (ValueError) when HasNext() is false.
  Coroutine<absl::StatusOr<F>> Next() {
    if (!HasNext()) internal::EmptyWait("AsCompleted::Next past the end:");
    while (state_->done.empty() && !state_->timed_out) {
      state_->signal = std::make_unique<Future<void>>();
      Future<void> signal = *state_->signal;
      co_await signal;
    }
    if (state_->done.empty()) {
      co_return internal::TimeoutErrorStatus();
    }
    const size_t index = state_->done.front();
    state_->done.pop_front();
    ++given_;
    co_return tasks_[index];
  }

 private:
  std::vector<F> tasks_;
  std::shared_ptr<internal::AsCompletedState> state_;
  size_t given_ = 0;
};

template <typename T>
AsCompleted(std::vector<Task<T>>) -> AsCompleted<T>;
template <typename T>
AsCompleted(std::vector<Task<T>>, absl::Duration) -> AsCompleted<T>;
template <typename T>
AsCompleted(std::vector<Future<T>>) -> AsCompleted<T, Future<T>>;
template <typename T>
AsCompleted(std::vector<Future<T>>, absl::Duration)
    -> AsCompleted<T, Future<T>>;

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_WAIT_H_
