// Sleep: Python's asyncio.sleep(delay).
//
//   co_await Sleep(absl::Milliseconds(100));   // await asyncio.sleep(0.1)
//   co_await Sleep(absl::ZeroDuration());      // await asyncio.sleep(0)
//
// Suspends the awaiting task for at least `delay` on the loop's clock; it
// resumes on the loop's thread in the iteration in which the deadline has
// passed. Sleep(0) (or a negative delay) yields to the loop exactly once: the
// task goes to the back of the ready queue, so every other ready callback and
// task runs first, as Python's bare `yield`.
//
// Cancelling the task during a Sleep removes its timer and throws
// CancelledError at the await. A Sleep keeps its timer inside the awaiting
// coroutine's frame: sleeping costs no allocation.
//
// Thread-safety: awaited only inside a task, on the loop's thread.

#ifndef PYCONC_ASYNCIO_SLEEP_H_
#define PYCONC_ASYNCIO_SLEEP_H_

#include <coroutine>
#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "asyncio/debug.h"
#include "asyncio/errors.h"
#include "asyncio/internal/schedule.h"
#include "asyncio/internal/suspension.h"

namespace pyconc::asyncio {
namespace internal {

// The awaiter of Sleep, in the awaiting coroutine's frame. Every sleeping
// task holds one, so it is kept to 32 bytes: the heap fires it without a
// vptr of its own (FireSleep), and its delay, needed until it suspends, and
// its task, needed from then on, share a word.
class SleepAwaiter final : public Waitable, public TimerSlot {
 public:
  // `line` is the Sleep's; its file and function are those of the coroutine
  // that awaits it, found when a task dump asks.
  SleepAwaiter(absl::Duration delay, int line)
      : delay_ns_(ToNanos(delay)), line_(line) {}
  SleepAwaiter(const SleepAwaiter&) = delete;
  SleepAwaiter& operator=(const SleepAwaiter&) = delete;
  ~SleepAwaiter() {
    if (in_heap()) task_->task_loop()->RemoveTimer(this);
  }

  bool await_ready() const noexcept { return false; }
  template <typename P>
  void await_suspend(std::coroutine_handle<P> caller) {
    const int64_t delay_ns = delay_ns_;
    task_ = caller.promise().task();  // The delay's word from now on.
    task_->SuspendOn(caller, this);
    if (delay_ns <= 0) {
      task_->Wake();  // A yield: never in the heap, nothing to cancel.
    } else {
      LoopCore* loop = task_->task_loop();
      loop->AddSleep(this, LoopCore::NowNs() + delay_ns);
    }
  }
  void await_resume() {
    task_->ThrowIfCancelRequested();
    if (cancelled_) [[unlikely]]
      ThrowCancelled();
  }

  // The deadline passed (through FireSleep).
  void Fire() { task_->Wake(); }
  bool CancelWait(const std::string& message) override;
  void AbandonWait(TaskBase* task) override;
  // "Sleep(1.5s left) at f.cc:12 in Main": the time left, not the delay,
  // which the awaiter no longer holds once asleep.
  std::string DescribeWait() const override;

 private:
  static int64_t ToNanos(absl::Duration delay);
  [[noreturn]] void ThrowCancelled();

  union {
    int64_t delay_ns_;  // Until await_suspend.
    TaskFrame* task_;   // From await_suspend on.
  };
  int line_;
  bool cancelled_ = false;
};

}  // namespace internal

// Python's asyncio.sleep(delay); see the top of this file. The line is taken
// as a scalar: g++ keeps the temporaries of a co_await's operand in the
// coroutine's frame, and a scalar takes none there.
inline internal::SleepAwaiter Sleep(absl::Duration delay,
                                    int line = __builtin_LINE()) {
  return internal::SleepAwaiter(delay, line);
}

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_SLEEP_H_
