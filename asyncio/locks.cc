#include "asyncio/locks.h"

#include <cstddef>
#include <exception>

#include "absl/status/statusor.h"
#include "asyncio/errors.h"
#include "base/errors.h"
#include "base/misuse.h"

namespace pyconc::asyncio {

// ------------------------------------------------------------------- Lock

Coroutine<bool> Lock::Acquire() {
  // Fair: wait behind every waiter; overtaking cancelled ones only.
  if (!locked_ && waiters_.AllCancelled()) {
    locked_ = true;
    co_return true;
  }
  internal::Waiter waiter(waiters_, "Lock.Acquire");
  try {
    co_await waiter;
  } catch (const CancelledError&) {
    waiter.Unlink();
    // Not claimed by us after all: make sure the next waiter runs.
    if (!locked_) WakeUpFirst();
    throw;
  }
  waiter.Unlink();
  locked_ = true;
  co_return true;
}

void Lock::Release() {
  if (!locked_) {
    pyconc::internal::Misuse("RuntimeError", "Lock is not acquired.");
  }
  locked_ = false;
  WakeUpFirst();
}

void Lock::WakeUpFirst() {
  // A first waiter already done is already on its way.
  if (internal::Waiter* first = waiters_.front()) first->Wake();
}

// ------------------------------------------------------------------ Event

void Event::Set() {
  if (value_) return;
  value_ = true;
  for (internal::Waiter* w = waiters_.front(); w != nullptr; w = w->next()) {
    w->Wake();
  }
}

Coroutine<bool> Event::Wait() {
  if (value_) co_return true;
  internal::Waiter waiter(waiters_, "Event.Wait");
  co_await waiter;  // The destructor leaves the list either way.
  co_return true;
}

// -------------------------------------------------------------- Condition

Coroutine<bool> Condition::Wait() {
  if (!Locked()) {
    pyconc::internal::Misuse("RuntimeError", "cannot wait on un-acquired lock");
  }
  Release();
  std::exception_ptr error;
  {
    internal::Waiter waiter(waiters_, "Condition.Wait");
    try {
      co_await waiter;
    } catch (...) {
      error = std::current_exception();
    }
  }
  // The lock is re-acquired even if the wait was cancelled; a cancel during
  // the re-acquisition is kept (the latest wins) and the acquiring goes on.
  for (;;) {
    try {
      co_await lock_->Acquire();
      break;
    } catch (const CancelledError&) {
      error = std::current_exception();
    }
  }
  if (error != nullptr) {
    // We may have been notified and not use it: pass it on (a spurious
    // wake-up for someone, which the protocol allows).
    NotifyUnchecked(1);
    std::rethrow_exception(error);
  }
  co_return true;
}

void Condition::Notify(int n) {
  if (!Locked()) {
    pyconc::internal::Misuse("RuntimeError",
                             "cannot notify on un-acquired lock");
  }
  if (n > 0) NotifyUnchecked(static_cast<size_t>(n));
}

void Condition::NotifyAll() { Notify(static_cast<int>(waiters_.size())); }

void Condition::NotifyUnchecked(size_t n) {
  size_t woken = 0;
  for (internal::Waiter* w = waiters_.front(); w != nullptr && woken < n;
       w = w->next()) {
    if (w->Wake()) ++woken;
  }
}

// -------------------------------------------------------------- Semaphore

Semaphore::Semaphore(int value) : Semaphore(value, -1) {}

Semaphore::Semaphore(int value, int bound) : value_(value), bound_(bound) {
  if (value < 0) {
    pyconc::internal::Misuse("ValueError",
                             "Semaphore initial value must be >= 0");
  }
}

Coroutine<bool> Semaphore::Acquire() {
  if (!Locked()) {
    --value_;  // FIFO: only when nobody waits ahead.
    co_return true;
  }
  internal::Waiter waiter(waiters_, "Semaphore.Acquire");
  try {
    co_await waiter;
  } catch (const CancelledError&) {
    waiter.Unlink();
    // Woken with a unit we will not take: give it back.
    if (waiter.woken()) ++value_;
    WakeUpWhileFree();
    throw;
  }
  waiter.Unlink();
  // Tasks that arrived meanwhile had to queue: wake as many as units allow.
  WakeUpWhileFree();
  co_return true;
}

void Semaphore::Release() {
  if (bound_ >= 0 && value_ >= bound_) {
    pyconc::internal::Misuse("ValueError",
                             "BoundedSemaphore released too many times");
  }
  ++value_;
  WakeUpNext();
}

bool Semaphore::WakeUpNext() {
  for (internal::Waiter* w = waiters_.front(); w != nullptr; w = w->next()) {
    if (w->Wake()) {
      --value_;  // The unit is the woken waiter's.
      return true;
    }
  }
  return false;
}

void Semaphore::WakeUpWhileFree() {
  while (value_ > 0 && WakeUpNext()) {
  }
}

// ---------------------------------------------------------------- Barrier

Barrier::Barrier(int parties) : parties_(parties) {
  if (parties < 1) {
    pyconc::internal::Misuse("ValueError", "parties must be > 0");
  }
}

Coroutine<absl::StatusOr<int>> Barrier::Wait() {
  Held<Condition> held = co_await Hold(cond_);
  // Wait while the barrier drains or resets.
  co_await cond_.WaitFor([this] {
    return state_ != State::kDraining && state_ != State::kResetting;
  });
  if (state_ == State::kBroken) {
    co_return MakeError(PythonError::kBrokenBarrierError, "Barrier aborted");
  }
  const int index = count_++;
  bool broken = false;
  try {
    if (index + 1 == parties_) {
      state_ = State::kDraining;  // The round is complete: release it.
      cond_.NotifyAll();
    } else {
      co_await cond_.WaitFor([this] { return state_ != State::kFilling; });
      broken = state_ == State::kBroken || state_ == State::kResetting;
    }
  } catch (...) {
    --count_;
    Exit();
    throw;
  }
  --count_;
  Exit();
  if (broken) {
    co_return MakeError(PythonError::kBrokenBarrierError,
                        "Abort or reset of barrier");
  }
  co_return index;
}

void Barrier::Exit() {
  // The last task out lets the tasks waiting for the drain in.
  if (count_ == 0) {
    if (state_ == State::kResetting || state_ == State::kDraining) {
      state_ = State::kFilling;
    }
    cond_.NotifyAll();
  }
}

Coroutine<void> Barrier::Reset() {
  Held<Condition> held = co_await Hold(cond_);
  if (count_ > 0) {
    state_ = State::kResetting;  // Its waiters leave broken.
  } else {
    state_ = State::kFilling;
  }
  cond_.NotifyAll();
}

Coroutine<void> Barrier::Abort() {
  Held<Condition> held = co_await Hold(cond_);
  state_ = State::kBroken;
  cond_.NotifyAll();
}

}  // namespace pyconc::asyncio
