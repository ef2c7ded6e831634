// Handle and TimerHandle: Python's asyncio.Handle and asyncio.TimerHandle, what
// CallSoon / CallLater / CallAt return. A Handle holds its callback's node (see
// asyncio/internal/schedule.h for the loop's ready queue and timer heap); its
// Cancel() stops a callback that has not run yet.
//
// Thread-safety: a Handle belongs to the loop's thread, except that one
// returned by CallSoonThreadsafe may be copied, cancelled and dropped on any
// thread (its node's reference count and flag are atomic).

#ifndef PYCONC_ASYNCIO_HANDLE_H_
#define PYCONC_ASYNCIO_HANDLE_H_

#include <utility>

#include "absl/time/time.h"
#include "asyncio/internal/schedule.h"

namespace pyconc::asyncio {

// Python's asyncio.Handle: a scheduled callback that can be cancelled until it
// runs. Copyable; an empty Handle (default-constructed) does nothing.
class Handle {
 public:
  Handle() = default;
  explicit Handle(internal::CallbackNode* node) : node_(node) {
    if (node_ != nullptr) node_->Ref();
  }
  Handle(const Handle& other) : Handle(other.node_) {}
  Handle(Handle&& other) noexcept : node_(other.node_) {
    other.node_ = nullptr;
  }
  Handle& operator=(Handle other) {
    std::swap(node_, other.node_);
    return *this;
  }
  ~Handle() {
    if (node_ != nullptr) node_->Unref();
  }

  // Python's Handle.cancel(): the callback will not run if it has not yet.
  // A cancelled timer leaves the loop's heap; call it on the loop's thread,
  // except for handles from CallSoonThreadsafe, which any thread may cancel.
  void Cancel();
  // Python's Handle.cancelled().
  bool Cancelled() const { return node_ != nullptr && node_->cancelled(); }

 protected:
  internal::CallbackNode* node() const { return node_; }

 private:
  internal::CallbackNode* node_ = nullptr;
};

// Python's asyncio.TimerHandle: a Handle with a deadline on the loop's clock.
class TimerHandle : public Handle {
 public:
  TimerHandle() = default;
  explicit TimerHandle(internal::CallbackNode* node) : Handle(node) {}
  // Python's TimerHandle.when(), on the clock of EventLoop::Time().
  absl::Time When() const;
};

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_HANDLE_H_
