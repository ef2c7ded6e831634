// Coroutines the asyncio tests share: one that sleeps then returns, one that
// waits for the test to set a future, one that sleeps then throws, and one
// that sleeps until it is cancelled; and CancelAfterIterations, which orders
// a cancel after the tasks' first steps without racing a timer.

#ifndef PYCONC_TESTS_ASYNCIO_TEST_COROUTINES_H_
#define PYCONC_TESTS_ASYNCIO_TEST_COROUTINES_H_

#include <stdexcept>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "asyncio/asyncio.h"

namespace pyconc::asyncio::test_coroutines {

// Sleeps `delay` on the loop, appends `value` to `order` (when given), returns
// it.
inline Coroutine<int> After(absl::Duration delay, int value,
                            std::vector<int>* order = nullptr) {
  co_await Sleep(delay);
  if (order != nullptr) order->push_back(value);
  co_return value;
}

// Waits until the test sets `gate`, appends its value to `order` (when given),
// returns it: a task that provably stays pending however slow the machine is.
inline Coroutine<int> WhenSet(Future<int> gate,
                              std::vector<int>* order = nullptr) {
  const int value = co_await gate;
  if (order != nullptr) order->push_back(value);
  co_return value;
}

// Sleeps `delay` on the loop, then throws std::runtime_error(what).
inline Coroutine<int> Fail(absl::Duration delay, std::string what = "fail") {
  co_await Sleep(delay);
  throw std::runtime_error(what);
}

// Sleeps an hour, which no test waits for; records "inner cleanup" in `events`
// (when given) as CancelledError passes through.
inline Coroutine<int> SleepForever(std::vector<std::string>* events = nullptr) {
  try {
    co_await Sleep(absl::Hours(1));
  } catch (const CancelledError&) {
    if (events != nullptr) events->push_back("inner cleanup");
    throw;
  }
  co_return 0;
}

// Cancels `task` with `message` in the loop's `iterations`-th iteration from
// now, counted through the ready queue (each hop a CallSoon), never by a
// timer: with iterations = 3, a task started by `task`'s first step, and a
// task that one starts, have had their first steps and are suspended.
inline void CancelAfterIterations(EventLoop& loop, AnyTask task, int iterations,
                                  std::string message = "") {
  loop.CallSoon([&loop, task, iterations, message]() mutable {
    if (iterations <= 1) {
      task.Cancel(message);
    } else {
      CancelAfterIterations(loop, task, iterations - 1, message);
    }
  });
}

}  // namespace pyconc::asyncio::test_coroutines

#endif  // PYCONC_TESTS_ASYNCIO_TEST_COROUTINES_H_
