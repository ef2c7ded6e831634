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

class SleepAwaiter final : public Waitable, public TimerNode {
 public:
  // `line` is the Sleep's; its file and function are those of the coroutine
  // that awaits it, found when a task dump asks (a sleeping task's frame
  // holds one SleepAwaiter, so it keeps only what it cannot find).
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
    task_ = caller.promise().task();
    task_->SuspendOn(caller, this);
    if (delay_ns_ <= 0) {
      fired_ = true;  // A yield: nothing left to cancel.
      task_->Wake();
    } else {
      LoopCore* loop = task_->task_loop();
      loop->AddTimer(this, LoopCore::NowNs() + delay_ns_);
    }
  }
  void await_resume() {
    task_->ThrowIfCancelRequested();
    if (cancelled_) [[unlikely]]
      ThrowCancelled();
  }

  void Fire() override {
    fired_ = true;
    task_->Wake();
  }
  bool CancelWait(const std::string& message) override;
  void AbandonWait(TaskBase* task) override;
  std::string DescribeWait() const override;

 private:
  static int64_t ToNanos(absl::Duration delay);
  [[noreturn]] void ThrowCancelled();

  int64_t delay_ns_;
  TaskFrame* task_ = nullptr;
  int line_;
  bool fired_ = false;
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
