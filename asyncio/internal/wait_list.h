// WaitList and Waiter: the FIFO of waiting tasks inside asyncio's Lock, Event,
// Condition, Semaphore and Queue (Python's `self._waiters`, a deque of
// futures).
//
// A Waiter plays the part of Python's waiter future without allocating one: it
// lives in the frame of the coroutine that waits, joins its primitive's list
// when that coroutine suspends on it, and is in one of Python's three future
// states: pending, woken (Python's set_result) or cancelled (the waiting task
// was cancelled while it was pending). As in Python, the primitive decides
// when a woken waiter leaves the list: Lock keeps it there until its task runs
// (so that nobody barges past it), Queue takes it out when it wakes it.
//
//   internal::Waiter waiter(waiters_, "Lock.Acquire");
//   co_await waiter;    // Python: await fut; throws CancelledError
//   waiter.Unlink();    // Python: self._waiters.remove(fut)
//
// Await a Waiter as a named variable, never as a temporary (g++ 12
// mishandles temporaries with destructors in a co_await operand), and once.
// Cancelling the task while the waiter is pending cancels the waiter, and the
// task resumes with CancelledError thrown at the await; cancelling it once
// woken throws CancelledError at the await as well (Python's _must_cancel),
// with the waiter left woken, which is how the primitives tell the two apart
// and pass an unused wake-up on.
//
// Lifetimes: a Waiter leaves its list when destroyed; a WaitList destroyed
// first (its primitive went away while tasks waited, which happens when a loop
// closes with pending tasks) detaches its waiters.
//
// Thread-safety: the loop's thread only, like everything in asyncio. A list is
// bound to the loop of the first task that waits on it; a task of another loop
// waiting on it is misuse (Python's RuntimeError "... is bound to a different
// event loop").

#ifndef PYCONC_ASYNCIO_INTERNAL_WAIT_LIST_H_
#define PYCONC_ASYNCIO_INTERNAL_WAIT_LIST_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <string>

#include "asyncio/internal/loop_core.h"
#include "asyncio/internal/suspension.h"

namespace pyconc::asyncio::internal {

class WaitList;

class Waiter final : public Waitable {
 public:
  enum class State : uint8_t { kPending, kWoken, kCancelled };

  // `what` names the wait in task dumps ("Lock.Acquire"); a string literal.
  Waiter(WaitList& list, const char* what) : list_(&list), what_(what) {}
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;
  ~Waiter() { Unlink(); }

  bool await_ready() const noexcept { return false; }
  template <typename P>
  void await_suspend(std::coroutine_handle<P> caller) {
    task_ = caller.promise().task();
    task_->SuspendOn(caller, this);
    Link();
  }
  // Throws CancelledError when the wait or the task was cancelled.
  void await_resume() {
    task_->ThrowIfCancelRequested();
    if (state_ == State::kCancelled) [[unlikely]]
      ThrowCancelled();
  }

  // Python's fut.done(), fut.cancelled(), and done-but-not-cancelled.
  bool done() const { return state_ != State::kPending; }
  bool cancelled() const { return state_ == State::kCancelled; }
  bool woken() const { return state_ == State::kWoken; }
  // Python's fut.set_result(...) on a pending future: schedules the task.
  // False (and nothing happens) when already done.
  bool Wake() {
    if (state_ != State::kPending) return false;
    state_ = State::kWoken;
    task_->Wake();
    return true;
  }
  // Leaves the list if still in it (Python's waiters.remove(fut), tolerant).
  void Unlink();
  bool linked() const { return linked_; }
  // The next waiter in the list, or null.
  Waiter* next() const { return next_; }

  // Waitable.
  bool CancelWait(const std::string& message) override;
  void AbandonWait(TaskBase*) override { Unlink(); }
  std::string DescribeWait() const override { return what_; }

 private:
  friend class WaitList;
  void Link();
  [[noreturn]] void ThrowCancelled();

  WaitList* list_;
  const char* what_;
  TaskFrame* task_ = nullptr;
  Waiter* prev_ = nullptr;
  Waiter* next_ = nullptr;
  State state_ = State::kPending;
  bool linked_ = false;
};

class WaitList {
 public:
  WaitList() = default;
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;
  ~WaitList();

  bool empty() const { return head_ == nullptr; }
  size_t size() const { return size_; }
  // The oldest waiter (iterate with Waiter::next()), or null.
  Waiter* front() const { return head_; }
  // Removes and returns the oldest waiter, or null when empty.
  Waiter* PopFront();
  // Python's all(w.cancelled() for w in waiters): true when empty.
  bool AllCancelled() const;

 private:
  friend class Waiter;
  void PushBack(Waiter* waiter);
  void Remove(Waiter* waiter);

  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
  size_t size_ = 0;
  LoopCore* loop_ = nullptr;  // The loop of the first task that waited.
};

}  // namespace pyconc::asyncio::internal

#endif  // PYCONC_ASYNCIO_INTERNAL_WAIT_LIST_H_
