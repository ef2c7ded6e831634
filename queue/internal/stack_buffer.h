// StackBuffer: the storage of LifoQueue, last in, first out.
//
// Both ends of a stack are the same end, so puts and gets share one small mutex
// here (inside the queue's put or get mutex). std::deque never moves stored
// elements, which keeps push_back's strong exception guarantee for move-only
// types.
//
// Thread-safety: every member may be called from any thread. The caller pops
// only elements whose Push has happened before (see fifo_buffer.h); `pos` is
// unused.

#ifndef PYCONC_QUEUE_INTERNAL_STACK_BUFFER_H_
#define PYCONC_QUEUE_INTERNAL_STACK_BUFFER_H_

#include <cstdint>
#include <deque>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace pyconc::queue::internal {

template <typename T>
class StackBuffer {
 public:
  // Stores `item` on top. If constructing it throws, nothing is stored.
  template <typename U>
  void Push(int64_t /*pos*/, U&& item) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    items_.push_back(std::forward<U>(item));
  }

  // Moves the top element into `*out` and removes it. If the move throws, the
  // element stays on top.
  void PopInto(int64_t /*pos*/, absl::StatusOr<T>* out)
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    *out = std::move(items_.back());
    items_.pop_back();
  }

  // Destroys `count` elements from the top.
  void Discard(int64_t /*pos*/, int64_t count) noexcept
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    items_.erase(items_.end() - count, items_.end());
  }

 private:
  absl::Mutex mu_;
  std::deque<T> items_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pyconc::queue::internal

#endif  // PYCONC_QUEUE_INTERNAL_STACK_BUFFER_H_
