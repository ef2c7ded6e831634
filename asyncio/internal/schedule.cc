#include "asyncio/internal/schedule.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "asyncio/internal/loop_core.h"
#include "base/trace.h"

namespace pyconc::asyncio::internal {

bool ReadyQueue::Remove(ReadyNode* node) {
  ReadyNode* previous = nullptr;
  for (ReadyNode* n = head_; n != nullptr; previous = n, n = n->next()) {
    if (n != node) continue;
    if (previous == nullptr) {
      head_ = n->next();
    } else {
      previous->set_next(n->next());
    }
    if (tail_ == n) tail_ = previous;
    n->set_own_pointer(nullptr);
    return true;
  }
  return false;
}

void TimerHeap::PushSlot(TimerSlot* timer, int64_t when_ns, uintptr_t tag) {
  if (entries_.size() >= TimerSlot::kNotInHeap - 1) {
    std::fputs("pyconc: more than 2^32 - 2 timers at once\n", stderr);
    std::abort();
  }
  timer->seq_ = next_seq_++;
  entries_.push_back(Entry{when_ns, reinterpret_cast<uintptr_t>(timer) | tag});
  SiftUp(entries_.size() - 1);
}

void TimerHeap::Remove(TimerSlot* timer) {
  const size_t index = timer->heap_index_;
  timer->heap_index_ = TimerSlot::kNotInHeap;
  const Entry last = entries_.back();
  entries_.pop_back();
  if (index == entries_.size()) return;  // It was the last entry.
  Place(index, last);
  SiftUp(index);
  SiftDown(SlotOf(last.tagged_slot)->heap_index_);
}

void TimerHeap::SiftUp(size_t index) {
  const Entry moving = entries_[index];
  while (index > 0) {
    const size_t parent = (index - 1) / 2;
    if (!Before(moving, entries_[parent])) break;
    Place(index, entries_[parent]);
    index = parent;
  }
  Place(index, moving);
}

void TimerHeap::SiftDown(size_t index) {
  const Entry moving = entries_[index];
  const size_t n = entries_.size();
  while (true) {
    size_t child = 2 * index + 1;
    if (child >= n) break;
    if (child + 1 < n && Before(entries_[child + 1], entries_[child])) ++child;
    if (!Before(entries_[child], moving)) break;
    Place(index, entries_[child]);
    index = child;
  }
  Place(index, moving);
}

void CallbackNode::RunReady() {
  if (!cancelled()) {
    // On the timeline, named after the function that scheduled it.
    trace::Slice slice("callback", where_.function);
    try {
      fn_();
    } catch (...) {
      Report(loop_, {"Exception in callback " + where_.ShortString(),
                     std::current_exception(), DescribeReady()});
    }
  }
  // A Future handle in the callback must go on the loop's thread.
  if (one_shot_) fn_ = nullptr;
  Unref();
}

std::string CallbackNode::DescribeReady() const {
  return "callback scheduled at " + where_.ShortString() + " (" +
         where_.function + ")";
}

void CallbackNode::Fire() { loop_->Schedule(this); }

}  // namespace pyconc::asyncio::internal
