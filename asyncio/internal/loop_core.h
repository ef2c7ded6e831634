// The part of EventLoop that futures, tasks and awaiters use directly.
//
// Futures and tasks schedule themselves on their loop's ready queue and timer
// heap without a virtual call or an allocation; this header gives them that
// access without depending on loop.h (which depends on them, for
// CreateTask and RunUntilComplete). Users include "asyncio/loop.h".
//
// Everything a loop's users reach through a LoopCore* lives here, state and
// code, so nothing casts a LoopCore down to the EventLoop around it: the ready
// queue and timers, the descriptors the loop watches (socket awaiters) and the
// exception handler (Report). LoopCore has no virtual function: a vptr would
// be read by UBSan's vptr check on every member call, also during the loop's
// destruction.
//
// Thread-safety: the loop's thread only.

#ifndef PYCONC_ASYNCIO_INTERNAL_LOOP_CORE_H_
#define PYCONC_ASYNCIO_INTERNAL_LOOP_CORE_H_

#include <coroutine>
#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "asyncio/debug.h"
#include "asyncio/errors.h"
#include "asyncio/internal/schedule.h"

namespace pyconc::asyncio::internal {

class FutureBase;
class TaskBase;

class LoopCore {
 public:
  LoopCore() = default;
  LoopCore(const LoopCore&) = delete;
  LoopCore& operator=(const LoopCore&) = delete;

  // Appends to the ready queue; runs in this or the next iteration.
  void Schedule(ReadyNode* node) { ready_.Push(node); }
  void AddTimer(TimerNode* timer, int64_t when_ns) {
    timers_.Push(timer, when_ns);
  }
  // A task's Sleep (see FireSleep in schedule.h).
  void AddSleep(TimerSlot* sleep, int64_t when_ns) {
    timers_.PushSleep(sleep, when_ns);
  }
  void RemoveTimer(TimerSlot* timer) {
    if (timer->in_heap()) timers_.Remove(timer);
  }
  // The deadline of a timer in the heap.
  int64_t TimerWhenNs(const TimerSlot* timer) const {
    return timers_.when_ns(timer);
  }
  // The loop's clock (CLOCK_MONOTONIC) in nanoseconds.
  static int64_t NowNs();

  TaskBase* current_task() const { return current_task_; }
  void set_current_task(TaskBase* task) { current_task_ = task; }
  // The trampoline's next coroutine (see coroutine.h): the loop runs one
  // task's step at a time, so one slot serves every task.
  std::coroutine_handle<> trampoline_next_;

  // Every live future and task of this loop, so the loop can list tasks and
  // detach them when it goes away.
  void Track(FutureBase* future);
  void Untrack(FutureBase* future);
  FutureBase* tracked_head() const { return tracked_head_; }

  uint64_t NextTaskId() { return ++last_task_id_; }
  bool closed() const { return closed_; }
  bool debug() const { return debug_; }
  // Python's loop.get_task_factory() is asyncio.eager_task_factory.
  bool eager_task_factory() const { return eager_task_factory_; }

  // Python's loop.add_reader(fd, callback) (`writer` false) and
  // loop.add_writer(fd, callback) (`writer` true): `callback` runs in every
  // iteration in which `fd` is ready for that side, until UnwatchFd. Replaces
  // the side's previous callback. Misuse once closed.
  void WatchFd(int fd, bool writer, absl::AnyInvocable<void()> callback,
               Where where);
  // Python's loop.remove_reader(fd) / remove_writer(fd): whether a callback
  // was registered for that side.
  bool UnwatchFd(int fd, bool writer);

  // Python's loop.call_exception_handler(context): the handler that
  // EventLoop::SetExceptionHandler installed, else the default one.
  void CallExceptionHandler(const ExceptionContext& context);

 protected:
  // What the loop watches on one descriptor, and the events it asked epoll
  // for.
  struct FdWatch {
    CallbackNode* reader = nullptr;
    CallbackNode* writer = nullptr;
    uint32_t events = 0;
  };

  ~LoopCore() = default;

  // Misuse (RuntimeError "<what>: Event loop is closed") once closed.
  void CheckOpen(const char* what) const;
  // A callback node of this loop, with its first reference.
  CallbackNode* NewCallback(absl::AnyInvocable<void()> callback, Where where);

  ReadyQueue ready_;
  TimerHeap timers_;
  TaskBase* current_task_ = nullptr;
  FutureBase* tracked_head_ = nullptr;
  uint64_t last_task_id_ = 0;
  bool closed_ = false;
  bool debug_ = false;
  bool eager_task_factory_ = false;
  int epoll_fd_ = -1;
  absl::flat_hash_map<int, FdWatch> fds_;
  // The user's handler bound to its EventLoop; empty means the default.
  absl::AnyInvocable<void(const ExceptionContext&)> exception_handler_;

 private:
  // Tells epoll what `watch` now wants (and forgets `fd` when nothing).
  void UpdateFd(int fd, FdWatch& watch);
};

// The loop running on this thread, or null (Python's _get_running_loop()).
LoopCore* RunningLoopCore();

// Reports through `loop`'s exception handler, or to stderr when it is null.
void Report(LoopCore* loop, const ExceptionContext& context);

}  // namespace pyconc::asyncio::internal

#endif  // PYCONC_ASYNCIO_INTERNAL_LOOP_CORE_H_
