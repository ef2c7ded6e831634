#include "asyncio/future.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "asyncio/errors.h"
#include "asyncio/task.h"
#include "base/misuse.h"
#include "base/trace.h"

namespace pyconc::asyncio::internal {

FutureBase::FutureBase(LoopCore* loop) : loop_(loop), callbacks_(nullptr) {
  if (loop->closed())
    pyconc::internal::Misuse("RuntimeError", "Event loop is closed");
  loop->Track(this);
}

FutureBase::~FutureBase() {
  if (log_traceback_) {
    Report(loop_, {"Future exception was never retrieved", stored_exception(),
                   Describe()});
  }
  if (loop_ != nullptr) loop_->Untrack(this);
  if (done()) {
    if (!value_in_word_) exception_.~exception_ptr();
    return;
  }
  DropCallbacks();
  if (callbacks_listed_) delete static_cast<DoneCallbacks*>(callbacks_);
}

const std::exception_ptr& FutureBase::stored_exception() const {
  static const std::exception_ptr kNone;
  return done() && !value_in_word_ ? exception_ : kNone;
}

const char* FutureBase::StateName(State state) {
  switch (state) {
    case State::kPending:
      return "pending";
    case State::kCancelled:
      return "cancelled";
    case State::kFinished:
      return "finished";
  }
  return "?";
}

std::string FutureBase::Describe() const {
  std::string out = std::string("Future <") + StateName(state_) + ">";
  if (stored_exception() != nullptr) {
    out += " " + DescribeException(stored_exception());
  }
  return out;
}

bool FutureBase::Cancel(const std::string& message) {
  log_traceback_ = false;
  if (done()) return false;
  Complete(State::kCancelled, std::make_exception_ptr(CancelledError(message)));
  return true;
}

void FutureBase::SetException(std::exception_ptr exception) {
  if (done()) InvalidState("SetException", Describe());
  if (exception == nullptr) {
    pyconc::internal::Misuse("TypeError", "SetException(nullptr)");
  }
  log_traceback_ = true;
  Complete(State::kFinished, std::move(exception));
}

void FutureBase::MarkFinished() { Complete(State::kFinished, nullptr); }

void FutureBase::Complete(State state, std::exception_ptr exception) {
  const TakenCallbacks taken = TakeCallbacks();
  new (&exception_) std::exception_ptr(std::move(exception));
  state_ = state;
  ScheduleCallbacks(taken);
}

void FutureBase::RethrowIfFailed(const char* kind) {
  if (!done())
    InvalidState("Result", std::string(kind) + " result is not set.");
  log_traceback_ = false;
  if (stored_exception() != nullptr) {
    std::rethrow_exception(stored_exception());
  }
}

std::exception_ptr FutureBase::Exception(const char* kind) {
  if (!done()) {
    InvalidState("Exception", std::string(kind) + " exception is not set.");
  }
  if (cancelled()) std::rethrow_exception(stored_exception());
  log_traceback_ = false;
  return stored_exception();
}

FutureBase::DoneCallbacks& FutureBase::callback_list() {
  if (!callbacks_listed_) {
    auto* callbacks = new DoneCallbacks;
    if (callbacks_ != nullptr) {
      callbacks->list.push_back(
          DoneCallback{0, static_cast<ReadyNode*>(callbacks_), nullptr});
    }
    callbacks_ = callbacks;
    callbacks_listed_ = true;
  }
  return *static_cast<DoneCallbacks*>(callbacks_);
}

uint64_t FutureBase::AddDoneCallback(absl::AnyInvocable<void(FutureBase&)> fn) {
  if (done()) {
    ScheduleCallback(std::move(fn));
    return 0;
  }
  DoneCallbacks& callbacks = callback_list();
  const uint64_t id = callbacks.next_id++;
  callbacks.list.push_back(DoneCallback{id, nullptr, std::move(fn)});
  return id;
}

int FutureBase::RemoveDoneCallback(uint64_t id) {
  // Nodes are listed with id 0.
  if (done() || !callbacks_listed_ || id == 0) return 0;
  std::vector<DoneCallback>& list =
      static_cast<DoneCallbacks*>(callbacks_)->list;
  auto it = std::find_if(list.begin(), list.end(),
                         [id](const DoneCallback& c) { return c.id == id; });
  if (it == list.end()) return 0;
  list.erase(it);
  return 1;
}

void FutureBase::AddDoneNode(ReadyNode* node) {
  if (done()) {
    if (trace::Enabled()) node->TraceWake();
    loop_->Schedule(node);
    return;
  }
  if (callbacks_ == nullptr) {
    callbacks_ = node;
    return;
  }
  callback_list().list.push_back(DoneCallback{0, node, nullptr});
}

bool FutureBase::RemoveDoneNode(ReadyNode* node) {
  if (done()) return false;
  if (!callbacks_listed_) {
    if (callbacks_ != node) return false;
    callbacks_ = nullptr;
    return true;
  }
  std::vector<DoneCallback>& list =
      static_cast<DoneCallbacks*>(callbacks_)->list;
  auto it =
      std::find_if(list.begin(), list.end(),
                   [node](const DoneCallback& c) { return c.node == node; });
  if (it == list.end()) return false;
  list.erase(it);
  return true;
}

void FutureBase::AbandonWait(TaskBase* task) { RemoveDoneNode(task); }

void FutureBase::ScheduleCallbacks(TakenCallbacks taken) {
  const auto [callbacks, listed] = taken;
  std::unique_ptr<DoneCallbacks> list(
      listed ? static_cast<DoneCallbacks*>(callbacks) : nullptr);
  if (callbacks == nullptr || (listed && list->list.empty())) return;
  if (loop_ == nullptr || loop_->closed()) {
    pyconc::internal::Misuse("RuntimeError",
                             "Event loop is closed (a future completed after "
                             "its loop closed)");
  }
  if (!listed) {
    auto* node = static_cast<ReadyNode*>(callbacks);
    if (trace::Enabled()) node->TraceWake();
    loop_->Schedule(node);
    return;
  }
  for (DoneCallback& callback : list->list) {
    if (callback.node == nullptr) {
      ScheduleCallback(std::move(callback.fn));
      continue;
    }
    if (trace::Enabled()) callback.node->TraceWake();
    loop_->Schedule(callback.node);
  }
}

void FutureBase::ScheduleCallback(absl::AnyInvocable<void(FutureBase&)> fn) {
  Ref();
  auto* node = new CallbackNode(
      [fn = std::move(fn), self = StateRef<FutureBase>(this)]() mutable {
        fn(*self.get());
      },
      Where{"done callback", 0, "AddDoneCallback"});
  node->set_loop(loop_);
  loop_->Schedule(node);
}

void FutureBase::DropCallbacks() {
  if (done()) return;
  if (!callbacks_listed_) {
    if (callbacks_ != nullptr) {
      static_cast<ReadyNode*>(std::exchange(callbacks_, nullptr))->DropReady();
    }
    return;
  }
  // Moved out first: destroying one may reach this future.
  std::vector<DoneCallback>& list =
      static_cast<DoneCallbacks*>(callbacks_)->list;
  std::vector<DoneCallback> dropped = std::move(list);
  list.clear();
  for (DoneCallback& callback : dropped) {
    if (callback.node != nullptr) callback.node->DropReady();
  }
}

void InvalidState(const char* what, const std::string& which) {
  pyconc::internal::Misuse("InvalidStateError",
                           std::string(what) + ": " + which);
}

void SuspendChecked(TaskFrame* task, FutureBase* on) {
  if (static_cast<FutureBase*>(static_cast<TaskBase*>(task)) == on) {
    pyconc::internal::Misuse("RuntimeError",
                             "Task cannot await on itself: " + on->Describe());
  }
  if (on->loop() != task->task_loop()) {
    pyconc::internal::Misuse(
        "RuntimeError",
        "Task got Future attached to a different loop: " + on->Describe());
  }
}

void LoopCore::Track(FutureBase* future) {
  future->tracked_prev_ = nullptr;
  future->tracked_next_ = tracked_head_;
  if (tracked_head_ != nullptr) tracked_head_->tracked_prev_ = future;
  tracked_head_ = future;
}

void LoopCore::Untrack(FutureBase* future) {
  if (future->tracked_prev_ != nullptr) {
    future->tracked_prev_->tracked_next_ = future->tracked_next_;
  } else {
    tracked_head_ = future->tracked_next_;
  }
  if (future->tracked_next_ != nullptr) {
    future->tracked_next_->tracked_prev_ = future->tracked_prev_;
  }
  future->tracked_prev_ = future->tracked_next_ = nullptr;
}

}  // namespace pyconc::asyncio::internal
