// ResultThread<T>: a Thread that hands back what its function returned, or what
// it threw.
//
// Python's Thread discards the target's return value; the tutorial's "returning
// values" page subclasses Thread to keep it. ResultThread does that for any
// callable:
//
//   ResultThread<int64_t> t(CountPrimes, 0, 1'000'000);
//   t.Start();
//   int64_t n = t.Result();  // Joins, then gives the value or rethrows.
//
// An exception thrown by the function is not sent to ExceptHook: it is kept for
// Result() to rethrow. If nobody calls Result(), it is reported through
// ExceptHook when the last reference to it goes away, so it is never swallowed
// silently.
//
// Thread-safety: as Thread. Result() may be called from several threads; each
// gets a reference to the same stored value (or the same exception), valid
// while the ResultThread lives.

#ifndef PYCONC_THREADING_RETURN_VALUES_RESULT_THREAD_H_
#define PYCONC_THREADING_RETURN_VALUES_RESULT_THREAD_H_

#include <atomic>
#include <concepts>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "threading/thread/thread.h"

namespace pyconc::threading {

template <typename T>
class ResultThread : public Thread {
 public:
  // A thread that will run `fn(args...)` and keep its result; `fn` must return
  // a T.
  template <typename F, typename... Args>
  requires std::is_invocable_r_v<T, std::decay_t<F>, std::decay_t<Args>...>
  explicit ResultThread(F&& fn, Args&&... args)
      : ResultThread(ThreadOptions{}, std::forward<F>(fn),
                     std::forward<Args>(args)...) {}

  // As above, with a name and a daemon flag.
  template <typename F, typename... Args>
  requires std::is_invocable_r_v<T, std::decay_t<F>, std::decay_t<Args>...>
  ResultThread(ThreadOptions options, F&& fn, Args&&... args)
      : ResultThread(std::make_shared<Outcome>(), std::move(options),
                     std::forward<F>(fn), std::forward<Args>(args)...) {}

  // Joins the thread, then returns its value (a reference to the stored T) or
  // rethrows what it threw. For a bounded wait, call Join(timeout) first.
  std::add_lvalue_reference_t<T> Result() {
    Join();
    outcome_->retrieved.store(true, std::memory_order_relaxed);
    if (outcome_->error != nullptr) std::rethrow_exception(outcome_->error);
    if constexpr (!std::is_void_v<T>) return *outcome_->value;
  }

 private:
  using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

  // What the thread leaves behind; shared, so the thread may outlive this
  // handle.
  struct Outcome {
    std::optional<Stored> value;
    std::exception_ptr error;
    std::atomic<bool> retrieved{false};
    std::optional<ThreadRef> thread;

    ~Outcome() {
      if (error != nullptr && !retrieved.load(std::memory_order_relaxed)) {
        ExceptHook({error, *thread});
      }
    }
  };

  template <typename F, typename... Args>
  ResultThread(std::shared_ptr<Outcome> outcome, ThreadOptions options, F&& fn,
               Args&&... args)
      : Thread(std::move(options),
               [outcome, fn = std::decay_t<F>(std::forward<F>(fn)),
                ... args =
                    std::decay_t<Args>(std::forward<Args>(args))]() mutable {
                 try {
                   if constexpr (std::is_void_v<T>) {
                     std::invoke(std::move(fn), std::move(args)...);
                     outcome->value.emplace();
                   } else {
                     outcome->value.emplace(
                         std::invoke(std::move(fn), std::move(args)...));
                   }
                 } catch (...) {
                   outcome->error = std::current_exception();
                 }
               }),
        outcome_(std::move(outcome)) {
    outcome_->thread.emplace(static_cast<const ThreadRef&>(*this));
  }

  std::shared_ptr<Outcome> outcome_;
};

}  // namespace pyconc::threading

#endif  // PYCONC_THREADING_RETURN_VALUES_RESULT_THREAD_H_
