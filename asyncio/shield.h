// Shield: Python's asyncio.shield(aw), protecting a task from cancellation.
//
//   Task<int> inner = CreateTask(Work());
//   int x = co_await Shield(inner);   // res = await shield(inner)
//
// Where it matches Python: Shield returns an outer Future that takes the inner
// task's outcome. Cancelling the task that awaits the outer (or the outer
// itself) cancels only the outer: the awaiter gets CancelledError at once
// while the inner keeps running to its end. The outer, once done, stops
// watching the inner, so an exception the inner raises after the outer was
// cancelled is nobody's: it is reported as never retrieved when the inner's
// last handle goes (nothing is lost silently). If the inner ends cancelled
// (cancelled directly), the outer is cancelled too. A Coroutine is wrapped in
// a task first (ensure_future), which the loop keeps alive.
//
// Where C++ forced a difference: none beyond the types; Shield(Task<T>) and
// Shield(Future<T>) return Future<T>, and an already-done inner gives an outer
// that completes in the loop's next iteration instead of the inner itself.
//
// Thread-safety: the loop's thread only.

#ifndef PYCONC_ASYNCIO_SHIELD_H_
#define PYCONC_ASYNCIO_SHIELD_H_

#include <cstdint>
#include <exception>
#include <utility>

#include "absl/functional/function_ref.h"
#include "asyncio/coroutine.h"
#include "asyncio/future.h"
#include "asyncio/task.h"

namespace pyconc::asyncio {

namespace internal {

// The outer future of a Shield: it keeps the inner one for the call graph
// (graph.h), so that the task awaiting the outer is shown awaiting the inner
// too (Python's future_add_to_awaited_by(inner, current task) in shield).
template <typename T>
class ShieldState final : public FutureState<T> {
 public:
  ShieldState(LoopCore* loop, AnyFuture inner)
      : FutureState<T>(loop), inner_(std::move(inner)) {}

  void ForEachAwaited(absl::FunctionRef<void(FutureBase*)> fn) override {
    fn(this);
    if (!inner_.Done()) inner_.base()->ForEachAwaited(fn);
  }

 private:
  AnyFuture inner_;
};

}  // namespace internal

// Python's asyncio.shield(task_or_future); see the top of this file.
template <internal::FutureLike F, typename T = internal::FutureValueT<F>>
Future<T> Shield(F inner) {
  Future<T> outer = Future<T>::AdoptState(new internal::ShieldState<T>(
      &internal::RunningLoopOrDie("Shield"), internal::AsAnyFuture(inner)));
  // Python's _inner_done_callback.
  const uint64_t id = inner.AddDoneCallback([outer](F& done) mutable {
    if (outer.Done()) {
      // Done in the same iteration as the outer's cancel, before the outer's
      // callback below could stop this one: Python marks it retrieved.
      if (!done.Cancelled()) done.Exception();
      return;
    }
    if (done.Cancelled()) {
      outer.Cancel();
    } else if (std::exception_ptr error = done.Exception()) {
      outer.SetException(std::move(error));
    } else if constexpr (std::is_void_v<T>) {
      outer.SetResult();
    } else {
      outer.SetResult(done.Result());
    }
  });
  // Python's _outer_done_callback: a cancelled outer stops watching.
  outer.AddDoneCallback([inner, id](Future<T>&) mutable {
    if (!inner.Done()) inner.RemoveDoneCallback(id);
  });
  return outer;
}

// Python's asyncio.shield(coro): the coroutine runs as its own task.
template <typename T>
Future<T> Shield(Coroutine<T> inner) {
  return Shield(CreateTask(std::move(inner)));
}

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_SHIELD_H_
