// HeapBuffer: the storage of PriorityQueue, a binary min-heap under `Compare`.
//
// The heap holds each element in its own node and moves only the node pointers,
// which cannot throw. Every comparison an operation needs is made before
// anything changes, so a comparison that throws leaves the heap exactly as it
// was (the strong guarantee), and an element's own move runs once into the heap
// and once out.
//
// Thread-safety: every member may be called from any thread (one small mutex,
// as in stack_buffer.h). The caller pops only elements whose Push has happened
// before; `pos` is unused.

#ifndef PYCONC_QUEUE_INTERNAL_HEAP_BUFFER_H_
#define PYCONC_QUEUE_INTERNAL_HEAP_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace pyconc::queue::internal {

template <typename T, typename Compare>
class HeapBuffer {
 public:
  // Adds `item`. If constructing it or a comparison throws, nothing is added.
  template <typename U>
  void Push(int64_t /*pos*/, U&& item) ABSL_LOCKS_EXCLUDED(mu_) {
    auto node = std::make_unique<T>(std::forward<U>(item));
    absl::MutexLock lock(&mu_);
    size_t hole = heap_.size();
    // Find where the new element belongs, comparing only.
    size_t target = hole;
    while (target > 0 && compare_(*node, *heap_[Parent(target)])) {
      target = Parent(target);
    }
    heap_.push_back(nullptr);
    for (; hole > target; hole = Parent(hole))
      heap_[hole] = std::move(heap_[Parent(hole)]);
    heap_[hole] = std::move(node);
  }

  // Moves the first element under `Compare` into `*out` and removes it. If the
  // move or a comparison throws, the heap is unchanged.
  void PopInto(int64_t /*pos*/, absl::StatusOr<T>* out)
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    // Where the last element sinks to once the first is gone, comparing only.
    const size_t size = heap_.size() - 1;
    const T& last = *heap_.back();
    absl::InlinedVector<size_t, 32> path;
    for (size_t at = 0;;) {
      size_t child = 2 * at + 1;
      if (child >= size) break;
      if (child + 1 < size && compare_(*heap_[child + 1], *heap_[child]))
        ++child;
      if (!compare_(*heap_[child], last)) break;
      path.push_back(child);
      at = child;
    }
    *out = std::move(*heap_.front());
    // From here on only pointers move.
    std::unique_ptr<T> moved = std::move(heap_.back());
    heap_.pop_back();
    if (heap_.empty()) return;
    size_t hole = 0;
    for (size_t child : path) {
      heap_[hole] = std::move(heap_[child]);
      hole = child;
    }
    heap_[hole] = std::move(moved);
  }

  // Destroys `count` elements (the queue discards them all).
  void Discard(int64_t /*pos*/, int64_t count) noexcept
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    heap_.erase(heap_.end() - count, heap_.end());
  }

 private:
  static size_t Parent(size_t i) { return (i - 1) / 2; }

  absl::Mutex mu_;
  std::vector<std::unique_ptr<T>> heap_ ABSL_GUARDED_BY(mu_);
  [[no_unique_address]] Compare compare_;
};

}  // namespace pyconc::queue::internal

#endif  // PYCONC_QUEUE_INTERNAL_HEAP_BUFFER_H_
