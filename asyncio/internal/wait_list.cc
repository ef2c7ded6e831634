#include "asyncio/internal/wait_list.h"

#include <string>

#include "asyncio/errors.h"
#include "base/misuse.h"

namespace pyconc::asyncio::internal {

void Waiter::Link() { list_->PushBack(this); }

void Waiter::Unlink() {
  if (linked_) list_->Remove(this);
}

bool Waiter::CancelWait(const std::string& message) {
  if (state_ != State::kPending) return false;  // Woken: _must_cancel.
  state_ = State::kCancelled;
  task_->set_cancel_message(message);
  task_->Wake();
  return true;
}

void Waiter::ThrowCancelled() { throw CancelledError(task_->cancel_message()); }

WaitList::~WaitList() {
  for (Waiter* w = head_; w != nullptr; w = w->next_) {
    w->linked_ = false;
    w->list_ = nullptr;
  }
}

void WaitList::PushBack(Waiter* waiter) {
  LoopCore* loop = waiter->task_->task_loop();
  if (loop_ == nullptr) {
    loop_ = loop;
  } else if (loop_ != loop) {
    pyconc::internal::Misuse(
        "RuntimeError", std::string(waiter->what_) +
                            ": the primitive is bound to a different event "
                            "loop");
  }
  waiter->prev_ = tail_;
  waiter->next_ = nullptr;
  if (tail_ == nullptr) {
    head_ = waiter;
  } else {
    tail_->next_ = waiter;
  }
  tail_ = waiter;
  waiter->linked_ = true;
  ++size_;
}

void WaitList::Remove(Waiter* waiter) {
  if (waiter->prev_ != nullptr) {
    waiter->prev_->next_ = waiter->next_;
  } else {
    head_ = waiter->next_;
  }
  if (waiter->next_ != nullptr) {
    waiter->next_->prev_ = waiter->prev_;
  } else {
    tail_ = waiter->prev_;
  }
  waiter->prev_ = waiter->next_ = nullptr;
  waiter->linked_ = false;
  --size_;
}

Waiter* WaitList::PopFront() {
  Waiter* waiter = head_;
  if (waiter != nullptr) Remove(waiter);
  return waiter;
}

bool WaitList::AllCancelled() const {
  for (Waiter* w = head_; w != nullptr; w = w->next_) {
    if (!w->cancelled()) return false;
  }
  return true;
}

}  // namespace pyconc::asyncio::internal
