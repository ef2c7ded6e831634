// Timer: Python's threading.Timer, a thread that calls a function after a
// delay.
//
// clang-format off
//   Python                          pyconc
//   t = threading.Timer(30.0, f,    sync::Timer t(absl::Seconds(30), f, 1);
//                       args=[1])
//   t.start(); t.cancel(); t.join() t.Start(); t.Cancel(); t.Join();
// clang-format on
//
// A Timer is a pyconc::threading::Thread: Start() begins the countdown on a new
// thread, which calls `function(args...)` when `interval` has passed, unless
// Cancel() came first. Cancel() is a no-op once the function has started. An
// exception from the function goes to threading's ExceptHook, as for any
// thread.
//
// Where C++ differs from Python: destroying a started Timer cancels it and
// joins it (a Thread subclass must not outlive its thread); Python would let it
// fire.
//
// Thread-safety: Cancel() and the Thread members may be called from any thread.
// A Cancel() that comes before the interval has run out guarantees the function
// never runs; later, it changes nothing, and Join() tells when the function is
// over. The function's writes are visible after Join() returns.

#ifndef PYCONC_SYNC_TIMER_TIMER_H_
#define PYCONC_SYNC_TIMER_TIMER_H_

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "sync/event/event.h"
#include "threading/thread/thread.h"

namespace pyconc::sync {

class Timer : public threading::Thread {
 public:
  // A timer that will call `function(args...)` `interval` after Start(). The
  // function and arguments are copied or moved in. A negative interval is
  // Python's ValueError.
  template <typename F, typename... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...> Timer(
      absl::Duration interval, F&& function, Args&&... args)
      : Timer(Bound{}, interval,
              [function = std::decay_t<F>(std::forward<F>(function)),
               ... args =
                   std::decay_t<Args>(std::forward<Args>(args))]() mutable {
                std::invoke(std::move(function), std::move(args)...);
              }) {}

  // Cancels a started timer that has not fired, and waits for its thread.
  ~Timer() override;

  // Stops the timer if it is still waiting (Python's cancel()).
  void Cancel();

 protected:
  void Run() override;

 private:
  // Tags the constructor below, which the template above would otherwise call
  // itself for every lambda it makes.
  struct Bound {};
  Timer(Bound, absl::Duration interval, absl::AnyInvocable<void() &&> function);

  const absl::Duration interval_;
  absl::AnyInvocable<void() &&> function_;
  // Python's `finished`: set by Cancel() and when the function has run.
  Event finished_;
};

}  // namespace pyconc::sync

#endif  // PYCONC_SYNC_TIMER_TIMER_H_
