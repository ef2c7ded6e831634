// Gather: Python's asyncio.gather(*aws, return_exceptions=...).
//
//   auto [a, b] = co_await Gather(Fetch(1), Fetch(2));   // a tuple, in order
//   std::vector<int> all = co_await Gather(tasks);        // a vector, in order
//   std::vector<Outcome<int>> o = co_await Gather(kReturnExceptions, tasks);
//
// Where it matches Python: Tasks, Futures and Coroutines are all accepted;
// every awaitable runs concurrently (a Coroutine is
// wrapped in a task by Gather itself, at the call, as ensure_future does); the
// results come back in the order of the arguments, whatever order the children
// finish in. A Task passed more than once is one child whose outcome fills
// each of its positions (Python's arg_to_fut; a Coroutine is move-only, so it
// cannot be passed twice). Without return_exceptions the first child to fail
// makes Gather rethrow that exception while the other children keep running;
// a child that ends cancelled makes Gather throw CancelledError, and the task
// awaiting Gather is not itself marked cancelled by that (it sees an exception
// it may catch). Cancelling the task that awaits Gather cancels every child
// that is not done (once per position, as _GatheringFuture.cancel); Gather
// then answers once they have all finished, with CancelledError, even with
// return_exceptions (bpo-32684) and even if a child swallowed the cancel. A
// child's exception that arrives after Gather has answered is marked
// retrieved, as Python does.
//
// Where C++ forced a difference: Python's return_exceptions=True changes the
// type of what is returned, so it is a tag argument (kReturnExceptions) that
// turns each result into an Outcome<T>: the value, or the exception (a
// CancelledError for a cancelled child) held in place. A child of type
// Coroutine<void> or Task<void> gives std::monostate (Python's None). Python
// returns a future that several tasks may await; Gather returns a Coroutine,
// awaited once. Gather with no awaitables gives an empty tuple or vector.
//
// Thread-safety: call and await on the loop's thread, inside a task.

#ifndef PYCONC_ASYNCIO_GATHER_H_
#define PYCONC_ASYNCIO_GATHER_H_

#include <coroutine>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/functional/function_ref.h"
#include "asyncio/coroutine.h"
#include "asyncio/errors.h"
#include "asyncio/internal/group_wait.h"
#include "asyncio/task.h"

namespace pyconc::asyncio {

// The tag that asks Gather for Python's return_exceptions=True.
struct ReturnExceptions {};
inline constexpr ReturnExceptions kReturnExceptions{};

// What a child gave under return_exceptions: its value or its exception.
template <typename T>
class Outcome {
 public:
  explicit Outcome(T value) : value_(std::move(value)) {}
  explicit Outcome(std::exception_ptr error) : error_(std::move(error)) {}

  // True when the child finished with a value.
  bool ok() const { return error_ == nullptr; }
  // True when the child ended cancelled (error() holds its CancelledError).
  bool cancelled() const { return internal::IsCancelledError(error_); }
  // The value; rethrows the child's exception when there is none.
  const T& value() const {
    if (error_ != nullptr) std::rethrow_exception(error_);
    return *value_;
  }
  // The child's exception, or null.
  const std::exception_ptr& error() const { return error_; }

 private:
  std::optional<T> value_;
  std::exception_ptr error_;
};

namespace internal {

// void -> std::monostate, so that every result has a value type.
template <typename T>
using GatherValue = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

// The task a Gather argument runs as.
template <typename T>
Task<T> GatherChild(Task<T> task) {
  return task;
}
template <typename T>
Future<T> GatherChild(Future<T> future) {
  return future;
}
template <typename T>
Task<T> GatherChild(Coroutine<T> coro) {
  return CreateTask(std::move(coro));
}
template <typename A>
using GatherTaskOf = decltype(GatherChild(std::declval<A>()));
// A Task, a Future or a Coroutine (moved in).
template <typename A>
concept GatherAwaitable = requires(A&& a) {
  GatherChild(std::forward<A>(a));
};

struct GatherState;

// A child's done callback: the child schedules the node itself when it is
// done (FutureBase::AddDoneNode), so that Gather allocates nothing per child.
class GatherNode final : public ReadyNode {
 public:
  GatherNode() = default;
  GatherNode(const GatherNode&) = delete;
  GatherNode& operator=(const GatherNode&) = delete;

  void RunReady() override;
  void DropReady() override;
  std::string DescribeReady() const override;

  GatherState* state = nullptr;
  size_t index = 0;      // The child's position.
  bool waiting = false;  // Registered with the child, or queued to run.
};

// What the awaiter and its children's nodes share. The awaiter owns it. When
// the awaiter goes (Gather answered early, or its task went), each child
// still pending gets a plain done callback instead of its node, which marks
// a late exception retrieved, as Python's gather does; the nodes of children
// already done are queued, and the state keeps itself until they have run.
struct GatherState : GroupWaitState {
  std::vector<AnyFuture> children;
  std::unique_ptr<GatherNode[]> nodes;
  size_t waiting = 0;                 // Nodes with `waiting` set.
  std::shared_ptr<GatherState> self;  // Set when the awaiter goes.
  size_t finished = 0;
  bool return_exceptions = false;
  bool cancel_requested = false;
  std::string cancel_message;
  std::exception_ptr error;

  // `node` has run or will not run: the last one releases a state that
  // keeps itself (which may destroy this).
  void NodeDone(GatherNode& node) {
    node.waiting = false;
    if (--waiting == 0 && self != nullptr) {
      std::shared_ptr<GatherState> last = std::move(self);
    }
  }
};

// Python's _GatheringFuture and its _done_callback, as the Waitable the
// awaiting task is suspended on.
class GatherWaiter final : public GroupWaiter<GatherState> {
 public:
  GatherWaiter(std::vector<AnyFuture> children, bool return_exceptions);
  // The same for the `n` children child(0) .. child(n - 1): each is referenced
  // and registered with in one step, while its state is in the cache (a
  // Gather of a million tasks is bound by memory).
  GatherWaiter(size_t n, absl::FunctionRef<AnyFuture(size_t)> child,
               bool return_exceptions);
  ~GatherWaiter();

  // Rethrows the first failure, or CancelledError when Gather was cancelled.
  void await_resume();

  bool CancelWait(const std::string& message) override;
  std::string DescribeWait() const override;
  void ForEachAwaited(absl::FunctionRef<void(FutureBase*)> fn) override;

 private:
  friend class GatherNode;
  static void ChildDone(GatherState& state, AnyFuture& child);
  // Python's gather, once its outer future is done: a late child's
  // exception is retrieved, so that it is not reported.
  static void MarkRetrieved(AnyFuture& child);
};

template <typename F, typename T = FutureValueT<F>>
GatherValue<T> GatherResult(const F& task) {
  if constexpr (std::is_void_v<T>) {
    task.Result();
    return std::monostate{};
  } else {
    return T(task.Result());
  }
}

template <typename F, typename T = FutureValueT<F>>
Outcome<GatherValue<T>> GatherOutcome(const F& task) {
  if (task.Cancelled()) {
    try {
      task.Exception();
    } catch (...) {
      return Outcome<GatherValue<T>>(std::current_exception());
    }
  }
  if (std::exception_ptr error = task.Exception()) {
    return Outcome<GatherValue<T>>(std::move(error));
  }
  return Outcome<GatherValue<T>>(GatherResult(task));
}

template <typename F>
Coroutine<std::vector<GatherValue<FutureValueT<F>>>> GatherVector(
    std::vector<F> children) {
  co_await GatherWaiter(
      children.size(),
      [&children](size_t i) { return AsAnyFuture(children[i]); }, false);
  std::vector<GatherValue<FutureValueT<F>>> results;
  results.reserve(children.size());
  for (F& child : children) {
    results.push_back(GatherResult(child));
    // Let go of the child while its state is in the cache.
    const F released = std::move(child);
  }
  co_return results;
}

template <typename F>
Coroutine<std::vector<Outcome<GatherValue<FutureValueT<F>>>>>
GatherVectorOutcomes(std::vector<F> children) {
  co_await GatherWaiter(
      children.size(),
      [&children](size_t i) { return AsAnyFuture(children[i]); }, true);
  std::vector<Outcome<GatherValue<FutureValueT<F>>>> results;
  results.reserve(children.size());
  for (F& child : children) {
    results.push_back(GatherOutcome(child));
    const F released = std::move(child);  // As in GatherVector.
  }
  co_return results;
}

template <typename... F>
std::vector<AnyFuture> TupleAsAnyFutures(const std::tuple<F...>& children) {
  return std::apply(
      [](const auto&... c) {
        return std::vector<AnyFuture>{AsAnyFuture(c)...};
      },
      children);
}

template <typename... F>
Coroutine<std::tuple<GatherValue<FutureValueT<F>>...>> GatherTuple(
    std::tuple<F...> children) {
  co_await GatherWaiter(TupleAsAnyFutures(children), false);
  co_return std::apply(
      [](auto&... c) {
        return std::tuple<GatherValue<FutureValueT<F>>...>{GatherResult(c)...};
      },
      children);
}

template <typename... F>
Coroutine<std::tuple<Outcome<GatherValue<FutureValueT<F>>>...>>
GatherTupleOutcomes(std::tuple<F...> children) {
  co_await GatherWaiter(TupleAsAnyFutures(children), true);
  co_return std::apply(
      [](auto&... c) {
        return std::tuple<Outcome<GatherValue<FutureValueT<F>>>...>{
            GatherOutcome(c)...};
      },
      children);
}

}  // namespace internal

// Python's asyncio.gather(*tasks): the values in order; see the top of this
// file for failure and cancellation.
template <typename T>
Coroutine<std::vector<internal::GatherValue<T>>> Gather(
    std::vector<Task<T>> tasks) {
  return internal::GatherVector(std::move(tasks));
}

// Python's asyncio.gather(*tasks, return_exceptions=True).
template <typename T>
Coroutine<std::vector<Outcome<internal::GatherValue<T>>>> Gather(
    ReturnExceptions, std::vector<Task<T>> tasks) {
  return internal::GatherVectorOutcomes(std::move(tasks));
}

// Python's asyncio.gather(*futures), with and without return_exceptions.
template <typename T>
Coroutine<std::vector<internal::GatherValue<T>>> Gather(
    std::vector<Future<T>> futures) {
  return internal::GatherVector(std::move(futures));
}
template <typename T>
Coroutine<std::vector<Outcome<internal::GatherValue<T>>>> Gather(
    ReturnExceptions, std::vector<Future<T>> futures) {
  return internal::GatherVectorOutcomes(std::move(futures));
}

// Python's asyncio.gather(a, b, ...) over Tasks, Futures and Coroutines: a
// tuple of the
// values in order (std::monostate for void). Coroutines become tasks here, in
// argument order.
template <internal::GatherAwaitable... A>
auto Gather(A&&... awaitables) {
  using Tasks = std::tuple<internal::GatherTaskOf<A>...>;
  // Braces: the tasks are created left to right.
  return internal::GatherTuple(
      Tasks{internal::GatherChild(std::forward<A>(awaitables))...});
}

// Python's asyncio.gather(a, b, ..., return_exceptions=True): a tuple of
// Outcomes in order.
template <internal::GatherAwaitable... A>
auto Gather(ReturnExceptions, A&&... awaitables) {
  using Tasks = std::tuple<internal::GatherTaskOf<A>...>;
  return internal::GatherTupleOutcomes(
      Tasks{internal::GatherChild(std::forward<A>(awaitables))...});
}

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_GATHER_H_
