// What the loop schedules: the ready queue, the timer heap, and the callback
// nodes behind Handle and TimerHandle (asyncio/handle.h). Internal: users hold
// Handles; futures, tasks and awaiters use these through LoopCore.
//
// The loop keeps two structures, as Python's BaseEventLoop does: a FIFO ready
// queue (`_ready`) of things to run in the next iteration, and a heap of timers
// (`_scheduled`) ordered by deadline. Both are intrusive: a task is its own
// ready-queue node and a Sleep awaiter is its own timer, so scheduling a
// coroutine never allocates. Callbacks from CallSoon / CallLater / CallAt are
// reference-counted CallbackNodes; the user holds them as a Handle or
// TimerHandle.
//
// Differences from Python: timers with the same deadline run in the order they
// were scheduled (Python's heap does not promise it), and a cancelled timer
// leaves the heap at once rather than lazily.
//
// Thread-safety: everything here belongs to the loop's thread, except a
// CallbackNode's reference count and cancelled flag, which are atomic.

#ifndef PYCONC_ASYNCIO_INTERNAL_SCHEDULE_H_
#define PYCONC_ASYNCIO_INTERNAL_SCHEDULE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "asyncio/debug.h"

namespace pyconc::asyncio::internal {

class LoopCore;

// Something the loop runs once when it reaches the front of the ready queue.
class ReadyNode {
 public:
  virtual void RunReady() = 0;
  // What ran, for debug reports ("Task 'Task-3' step", "callback at f.cc:3").
  virtual std::string DescribeReady() const = 0;

  // The node will never run: the loop closed with it still queued, or the
  // future it was a done callback of (FutureBase::AddDoneNode) went without
  // completing. Release what the queue or the future held.
  virtual void DropReady() {}
  // While a trace records, a future whose result wakes this node calls it
  // first: a task starts the flow that its next step ends.
  virtual void TraceWake() {}

 protected:
  ~ReadyNode() = default;

  // The node's own pointer, kept in the queue's link word while the node is
  // not queued (a task keeps what it waits on there: see TaskFrame); null
  // from the moment the node is queued until the node sets it again. The
  // pointer must be aligned to 2 at least.
  void* own_pointer() const {
    return (link_ & kQueued) != 0 ? nullptr : reinterpret_cast<void*>(link_);
  }
  void set_own_pointer(void* pointer) {
    link_ = reinterpret_cast<uintptr_t>(pointer);
  }

 private:
  friend class ReadyQueue;
  // Set in the link of every node that has been queued: the next node's
  // address, or kQueued alone at the end of the queue.
  static constexpr uintptr_t kQueued = 1;
  ReadyNode* next() const {
    return reinterpret_cast<ReadyNode*>(link_ & ~kQueued);
  }
  void set_next(ReadyNode* next) {
    link_ = reinterpret_cast<uintptr_t>(next) | kQueued;
  }

  uintptr_t link_ = 0;
};

// An intrusive FIFO of ReadyNodes. A node is in at most one queue at a time.
class ReadyQueue {
 public:
  bool empty() const { return head_ == nullptr; }
  // The node Pop() takes next, or null.
  ReadyNode* front() const { return head_; }
  void Push(ReadyNode* node) {
    node->set_next(nullptr);
    if (tail_ == nullptr) {
      head_ = node;
    } else {
      tail_->set_next(node);
    }
    tail_ = node;
  }
  // O(n); for the rare removal of a node that will not run.
  bool Remove(ReadyNode* node);
  ReadyNode* Pop() {
    ReadyNode* node = head_;
    head_ = node->next();
    if (head_ == nullptr) tail_ = nullptr;
    return node;
  }
  // Moves every node into `batch` (which must be empty), leaving this empty.
  void TakeAll(ReadyQueue* batch) {
    batch->head_ = head_;
    batch->tail_ = tail_;
    head_ = tail_ = nullptr;
  }

 private:
  ReadyNode* head_ = nullptr;
  ReadyNode* tail_ = nullptr;
};

// The part of a timer that the timer heap keeps: its place in the heap and
// its push order. The deadline lives in the heap's entry.
class TimerSlot {
 public:
  static constexpr uint32_t kNotInHeap = ~uint32_t{0};

  bool in_heap() const { return heap_index_ != kNotInHeap; }

 protected:
  ~TimerSlot() = default;

 private:
  friend class TimerHeap;
  uint32_t heap_index_ = kNotInHeap;
  // The order in which the timers were pushed, to break ties between equal
  // deadlines (compared modulo 2^32: two timers alive at once are never 2^31
  // pushes apart in practice).
  uint32_t seq_ = 0;
};

// Something due at a deadline (in loop-clock nanoseconds). Sixteen bytes.
class TimerNode : public TimerSlot {
 public:
  // Called by the loop once the deadline has passed; the node is out of the
  // heap by then.
  virtual void Fire() = 0;
  // The loop closes with the timer still in the heap.
  virtual void DropTimer() {}

 protected:
  ~TimerNode() = default;
};

// A task's Sleep (sleep.h), the timer of every sleeping task, is a bare
// TimerSlot: no vptr of its own, as the heap knows its entries that are
// sleeps. Fires it (sleep.cc).
void FireSleep(TimerSlot* sleep);

// A timer taken from the heap, due: a TimerNode or a Sleep.
struct DueTimer {
  TimerSlot* slot;
  bool is_sleep;

  void Fire() const {
    if (is_sleep) {
      FireSleep(slot);
    } else {
      static_cast<TimerNode*>(slot)->Fire();
    }
  }
  // The loop closes with the timer in the heap. (A Sleep has nothing to
  // drop: its task is abandoned, and its frame goes with it.)
  void Drop() const {
    if (!is_sleep) static_cast<TimerNode*>(slot)->DropTimer();
  }
};

// A binary min-heap of timers by (deadline, push order) that can remove any
// member in O(log n), because each node knows its index. At most 2^32 - 2
// timers at once.
class TimerHeap {
 public:
  TimerHeap() = default;
  // Numbers the pushes from `first_seq` on (for tests of the wrap-around).
  explicit TimerHeap(uint32_t first_seq) : next_seq_(first_seq) {}

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  // The earliest deadline; the heap must not be empty.
  int64_t top_when_ns() const { return entries_.front().when_ns; }
  // The deadline of a timer in the heap.
  int64_t when_ns(const TimerSlot* timer) const {
    return entries_[timer->heap_index_].when_ns;
  }
  void Push(TimerNode* node, int64_t when_ns) { PushSlot(node, when_ns, 0); }
  void PushSleep(TimerSlot* sleep, int64_t when_ns) {
    PushSlot(sleep, when_ns, kSleep);
  }
  void Remove(TimerSlot* timer);
  // Takes the earliest timer out; the heap must not be empty.
  DueTimer Pop() {
    const uintptr_t tagged = entries_.front().tagged_slot;
    Remove(SlotOf(tagged));
    return DueTimer{SlotOf(tagged), (tagged & kSleep) != 0};
  }

 private:
  // A slot's address with kSleep in its low bit (a TimerSlot is aligned to
  // 4 bytes).
  static constexpr uintptr_t kSleep = 1;
  static TimerSlot* SlotOf(uintptr_t tagged) {
    return reinterpret_cast<TimerSlot*>(tagged & ~kSleep);
  }
  struct Entry {
    int64_t when_ns;
    uintptr_t tagged_slot;
  };
  static bool Before(const Entry& a, const Entry& b) {
    return a.when_ns < b.when_ns ||
           (a.when_ns == b.when_ns &&
            static_cast<int32_t>(SlotOf(a.tagged_slot)->seq_ -
                                 SlotOf(b.tagged_slot)->seq_) < 0);
  }
  void PushSlot(TimerSlot* timer, int64_t when_ns, uintptr_t tag);
  void Place(size_t index, const Entry& entry) {
    entries_[index] = entry;
    SlotOf(entry.tagged_slot)->heap_index_ = static_cast<uint32_t>(index);
  }
  void SiftUp(size_t index);
  void SiftDown(size_t index);

  std::vector<Entry> entries_;
  uint32_t next_seq_ = 0;
};

// A callback scheduled by CallSoon, CallLater, CallAt, AddReader or
// AddWriter, shared by the loop and the user's Handle.
class CallbackNode final : public ReadyNode, public TimerNode {
 public:
  CallbackNode(absl::AnyInvocable<void()> fn, Where where)
      : fn_(std::move(fn)), where_(where) {}

  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

  // Runs the callback unless cancelled (exceptions are reported via the loop;
  // through the loop). The queue's reference is released afterwards.
  void RunReady() override;
  std::string DescribeReady() const override;
  // A due timer moves to the ready queue, as in Python.
  void Fire() override;
  void DropReady() override { Unref(); }
  void DropTimer() override { Unref(); }

  void set_loop(LoopCore* loop) { loop_ = loop; }
  // The deadline of a CallLater / CallAt (TimerHandle::When()).
  void set_when_ns(int64_t when_ns) { when_ns_ = when_ns; }
  int64_t when_ns() const { return when_ns_; }
  // Runs once (not a reader or writer): what the callback holds is destroyed
  // on the loop's thread right after it runs, not with the node's last
  // Handle, which may be on the thread that called CallSoonThreadsafe.
  void set_one_shot() { one_shot_ = true; }
  LoopCore* loop() const { return loop_; }
  absl::AnyInvocable<void()>& fn() { return fn_; }
  Where where() const { return where_; }

 private:
  ~CallbackNode() = default;

  absl::AnyInvocable<void()> fn_;
  Where where_;
  int64_t when_ns_ = 0;
  bool one_shot_ = false;
  LoopCore* loop_ = nullptr;
  std::atomic<int> refs_{1};
  std::atomic<bool> cancelled_{false};
};

}  // namespace pyconc::asyncio::internal

#endif  // PYCONC_ASYNCIO_INTERNAL_SCHEDULE_H_
