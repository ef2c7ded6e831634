// FifoBuffer: the storage of Queue and SimpleQueue, first in, first out.
//
// A chain of fixed-size blocks: the producer end writes into the tail block and
// links a new one when it is full; the consumer end reads from the head block
// and recycles it when it is used up. Elements never move once stored, so there
// is nothing to reallocate and no bound to set, and the two ends share no state
// but the links.
//
// Thread-safety: the caller serializes Push() calls (the queue's put mutex)
// and, separately, PopInto()/Discard() calls (its get mutex); one Push and one
// PopInto may run at the same time. The caller numbers elements 0, 1, 2... in
// put order and only pops position `pos` after the Push of `pos` has happened
// before (the queue's release/acquire counters give that edge, which also
// publishes the block links).

#ifndef PYCONC_QUEUE_INTERNAL_FIFO_BUFFER_H_
#define PYCONC_QUEUE_INTERNAL_FIFO_BUFFER_H_

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#include "absl/status/statusor.h"

namespace pyconc::queue::internal {

template <typename T>
class FifoBuffer {
 public:
  FifoBuffer() : tail_(new Block), head_(tail_) {}
  FifoBuffer(const FifoBuffer&) = delete;
  FifoBuffer& operator=(const FifoBuffer&) = delete;

  // The caller has discarded the elements still stored.
  ~FifoBuffer() {
    for (Block* block = head_; block != nullptr;) {
      Block* next = block->next;
      delete block;
      block = next;
    }
    delete spare_.load(std::memory_order_acquire);
  }

  // Stores `item` as element `pos`. If constructing it throws, nothing is
  // stored.
  template <typename U>
  void Push(int64_t pos, U&& item) {
    if (pos == tail_end_) {
      Block* block = spare_.exchange(nullptr, std::memory_order_acquire);
      block = block == nullptr ? new Block : block;
      block->next = nullptr;
      tail_->next = block;
      tail_ = block;
      tail_end_ += kBlockSize;
    }
    ::new (tail_->slot(pos)) T(std::forward<U>(item));
  }

  // Moves element `pos` into `*out` and destroys it. If the move throws, the
  // element stays where it is, to be popped again.
  void PopInto(int64_t pos, absl::StatusOr<T>* out) {
    T* item = Head(pos);
    *out = std::move(*item);
    item->~T();
  }

  // Destroys elements [pos, pos + count) without moving them.
  void Discard(int64_t pos, int64_t count) noexcept {
    for (int64_t end = pos + count; pos < end; ++pos) Head(pos)->~T();
  }

 private:
  // About 4 KiB of elements per block, a power of two between 16 and 1024.
  static constexpr int64_t kBlockSize = static_cast<int64_t>(std::bit_floor(
      std::clamp<size_t>(4096 / sizeof(T), size_t{16}, size_t{1024})));

  struct Block {
    union Slot {
      Slot() {}
      ~Slot() {}
      T value;
    };
    T* slot(int64_t pos) { return &slots[pos & (kBlockSize - 1)].value; }

    Slot slots[kBlockSize];
    Block* next = nullptr;
  };

  // The block holding element `pos`, advancing (and recycling) the head block
  // when `pos` is the first element of the next one.
  T* Head(int64_t pos) {
    if (pos == head_end_) {
      Block* used = head_;
      head_ = used->next;
      head_end_ += kBlockSize;
      delete spare_.exchange(used, std::memory_order_acq_rel);
    }
    return head_->slot(pos);
  }

  // The producer end: the block being filled and the position just past it.
  alignas(64) Block* tail_;
  int64_t tail_end_ = kBlockSize;
  // The consumer end: the block being read and the position just past it.
  alignas(64) Block* head_;
  int64_t head_end_ = kBlockSize;
  // One used block handed from the consumer end back to the producer end, so
  // that a queue in steady state allocates nothing.
  alignas(64) std::atomic<Block*> spare_{nullptr};
};

}  // namespace pyconc::queue::internal

#endif  // PYCONC_QUEUE_INTERNAL_FIFO_BUFFER_H_
