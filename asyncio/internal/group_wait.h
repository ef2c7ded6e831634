// GroupWaiter: what Gather and Wait share, a task suspended on several futures
// at once (Python's _GatheringFuture and _wait's waiter future).
//
// The futures' done callbacks may run after the awaiter is gone (a child that
// finishes after Gather answered), so what they update lives in a state they
// share with it: the waiting task, and whether the wait is answered.
//
// Thread-safety: the loop's thread only, like everything in asyncio.

#ifndef PYCONC_ASYNCIO_INTERNAL_GROUP_WAIT_H_
#define PYCONC_ASYNCIO_INTERNAL_GROUP_WAIT_H_

#include <coroutine>
#include <memory>

#include "asyncio/internal/suspension.h"

namespace pyconc::asyncio::internal {

// The part of a group wait's state that the waiting side reads.
struct GroupWaitState {
  // Python's outer.done(): the task is woken (or will not suspend).
  bool answered = false;
  // Null until suspended, or once the awaiter is gone or abandoned.
  TaskFrame* task = nullptr;

  // Answers the wait once, waking the task if it is suspended.
  void Wake() {
    if (answered) return;
    answered = true;
    if (task != nullptr) task->Wake();
  }
};

// A Waitable over a shared `State` (derived from GroupWaitState).
template <typename State>
class GroupWaiter : public Waitable {
 public:
  GroupWaiter(const GroupWaiter&) = delete;
  GroupWaiter& operator=(const GroupWaiter&) = delete;

  bool await_ready() const noexcept { return state_->answered; }
  template <typename P>
  void await_suspend(std::coroutine_handle<P> caller) {
    state_->task = caller.promise().task();
    state_->task->SuspendOn(caller, this);
  }
  void AbandonWait(TaskBase*) final { state_->task = nullptr; }

 protected:
  GroupWaiter() : state_(std::make_shared<State>()) {}
  ~GroupWaiter() { state_->task = nullptr; }

  // The first thing in await_resume (see suspension.h).
  void ThrowIfCancelRequested() {
    if (state_->task != nullptr) state_->task->ThrowIfCancelRequested();
  }

  std::shared_ptr<State> state_;
};

}  // namespace pyconc::asyncio::internal

#endif  // PYCONC_ASYNCIO_INTERNAL_GROUP_WAIT_H_
