// BasicQueue: the one implementation behind Queue, LifoQueue and PriorityQueue.
//
// Python's queue.Queue is one class whose subclasses change only where items
// are kept
// (_put/_get); BasicQueue is that class, and `Buffer` is the storage:
// FifoBuffer, StackBuffer or HeapBuffer (queue/internal/). Use the names in
// queue/queue.h.
//
// How it is built, and why it is fast: putters and getters have a lock each
// (a WaitSide), so a producer and a consumer never wait for each other's lock.
// The queue's size is two counters, `pushed_` (written only by putters) and
// `popped_` (written only by getters); each side keeps the last value of the
// other side's counter it read and looks again only when that value says "full"
// or "empty". Unfinished tasks are `pushed_ - done_`, so a Put pays nothing for
// TaskDone/Join. A thread that cannot proceed spins briefly (one per side),
// preferring to wait for a batch of items or room so that the two sides do not
// trade a cache line at every item, then sleeps; the other side wakes it only
// if it sleeps, and wakes one thread per item, never all of them.
//
// Thread-safety: every member function may be called from any thread at any
// time, except that the destructor must not run while another thread is inside
// a call.
//
// Memory ordering: everything a thread did before a successful Put(x) happens
// before everything the thread that Get()s x does after. The last TaskDone()
// that brings the count of unfinished tasks to zero happens before Join()
// returns. Shutdown() happens before the ShutDown results it causes.

#ifndef PYCONC_QUEUE_BASIC_QUEUE_H_
#define PYCONC_QUEUE_BASIC_QUEUE_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/misuse.h"
#include "base/trace.h"
#include "queue/internal/wait_side.h"
#include "queue/status.h"

namespace pyconc::queue {

template <typename T, typename Buffer, bool kTracksTasks = true>
class BasicQueue {
 public:
  // Python's Queue(maxsize=0): at most `maxsize` items; zero or less is
  // unbounded.
  explicit BasicQueue(int64_t maxsize = 0) : maxsize_(maxsize) {}
  BasicQueue(const BasicQueue&) = delete;
  BasicQueue& operator=(const BasicQueue&) = delete;
  ~BasicQueue() {
    buffer_.Discard(popped_.load(), pushed_.load() - popped_.load());
  }

  // Python's put(item, timeout=...): waits up to `timeout` (infinite by
  // default) for room. Returns FullError() when none came, ShutDownError()
  // after Shutdown(). The item is moved from (or copied) only on success; a
  // negative timeout is misuse.
  absl::Status Put(T&& item,
                   absl::Duration timeout = absl::InfiniteDuration()) {
    return PutImpl(std::move(item), timeout);
  }
  absl::Status Put(const T& item,
                   absl::Duration timeout = absl::InfiniteDuration()) {
    return PutImpl(item, timeout);
  }
  // Python's put_nowait(item): Put without waiting.
  absl::Status PutNowait(T&& item) { return PutImpl(std::move(item), {}); }
  absl::Status PutNowait(const T& item) { return PutImpl(item, {}); }

  // Python's get(timeout=...): waits up to `timeout` (infinite by default) for
  // an item. Returns EmptyError() when none came; ShutDownError() once shut
  // down and empty (an immediate shutdown empties the queue).
  absl::StatusOr<T> Get(absl::Duration timeout = absl::InfiniteDuration()) {
    CheckTimeout(timeout);
    absl::StatusOr<T> result(absl::Status(absl::StatusCode::kUnknown, ""));
    {
      internal::SideGuard lock(get_.mu());
      const bool ready =
          CanGet() || get_.Await(this, &BasicQueue::CanGet,
                                 &BasicQueue::ItemsLikely, timeout);
      // Read after waiting: an immediate Shutdown() may have emptied the queue.
      const int64_t pos = popped_.load(std::memory_order_relaxed);
      if (!ready) {
        result = EmptyError();
      } else if (pos == pushed_seen_) {
        result = ShutDownError();
      } else {
        buffer_.PopInto(pos, &result);
        popped_.store(pos + 1, std::memory_order_release);
      }
    }
    if (trace::Enabled()) TraceDepth();
    if (put_.NeedsWake()) put_.WakeOne();
    return result;
  }
  // Python's get_nowait(): Get without waiting.
  absl::StatusOr<T> GetNowait() { return Get(absl::ZeroDuration()); }

  // Python's task_done(): one item taken by Get is finished. Calling it more
  // often than items were put is misuse (Python's ValueError).
  void TaskDone() {
    static_assert(kTracksTasks, "this queue does not track tasks");
    const int64_t done = done_.fetch_add(1, std::memory_order_seq_cst) + 1;
    // pushed_ only grows, so a count already ahead of it is ahead for good.
    const int64_t pushed = pushed_.load(std::memory_order_seq_cst);
    if (done > pushed) {
      pyconc::internal::Misuse("ValueError",
                               "task_done() called too many times");
    }
    if (done == pushed && join_.NeedsWake()) join_.WakeAll();
  }
  // Python's join(): waits until every item put has been marked TaskDone().
  void Join() { (void)Join(absl::InfiniteDuration()); }
  // As Join(), up to `timeout`; returns whether every task was done (Python's
  // join has no timeout; this is its Condition.wait_for).
  bool Join(absl::Duration timeout) {
    static_assert(kTracksTasks, "this queue does not track tasks");
    internal::SideGuard lock(join_.mu());
    return join_.Await(this, &BasicQueue::AllTasksDone,
                       &BasicQueue::AllTasksDoneLikely, timeout);
  }

  // Python's qsize(): the number of items, exact when no other thread is inside
  // a call, a recent value otherwise.
  int64_t QSize() const {
    const int64_t popped = popped_.load(std::memory_order_acquire);
    return pushed_.load(std::memory_order_acquire) - popped;
  }
  // Python's empty() and full(): QSize() == 0 and 0 < MaxSize() <= QSize().
  bool Empty() const { return QSize() == 0; }
  bool Full() const { return maxsize_ > 0 && QSize() >= maxsize_; }
  // Python's maxsize.
  int64_t MaxSize() const { return maxsize_; }
  // Python's unfinished_tasks: items put and not yet marked TaskDone().
  int64_t unfinished_tasks() const {
    const int64_t done = done_.load(std::memory_order_acquire);
    return pushed_.load(std::memory_order_acquire) - done;
  }

  // Python 3.13's shutdown(immediate=False): puts fail with ShutDownError()
  // from now on; gets take what remains, then fail. `immediate` also discards
  // what remains, counts it as done for Join(), and makes gets fail at once.
  // Every blocked Put, Get and Join wakes. Calling it again only adds what
  // `immediate` adds.
  void Shutdown(bool immediate = false) {
    {
      internal::SideGuard lock(put_.mu());
      shutdown_.store(true, std::memory_order_seq_cst);
    }
    put_.WakeAll();
    int64_t discarded = 0;
    {
      internal::SideGuard lock(get_.mu());
      if (immediate) {
        const int64_t pos = popped_.load(std::memory_order_relaxed);
        pushed_seen_ = pushed_.load(std::memory_order_acquire);
        discarded = pushed_seen_ - pos;
        buffer_.Discard(pos, discarded);
        popped_.store(pushed_seen_, std::memory_order_seq_cst);
      }
    }
    get_.WakeAll();
    if (kTracksTasks && immediate) {
      // As Python: each discarded item finishes one unfinished task, if any is
      // left. No put runs any more, so pushed_ is final.
      const int64_t pushed = pushed_.load(std::memory_order_seq_cst);
      int64_t done = done_.load(std::memory_order_seq_cst);
      while (!done_.compare_exchange_weak(
          done, done + std::min(pushed - done, discarded))) {
      }
      join_.WakeAll();
    }
  }
  // Python's is_shutdown.
  bool is_shutdown() const { return shutdown_.load(std::memory_order_acquire); }

 private:
  template <typename U>
  absl::Status PutImpl(U&& item, absl::Duration timeout) {
    CheckTimeout(timeout);
    {
      internal::SideGuard lock(put_.mu());
      if (!CanPut() && !put_.Await(this, &BasicQueue::CanPut,
                                   &BasicQueue::RoomLikely, timeout)) {
        return FullError();
      }
      if (shutdown_.load(std::memory_order_relaxed)) return ShutDownError();
      const int64_t pos = pushed_.load(std::memory_order_relaxed);
      buffer_.Push(pos, std::forward<U>(item));
      // Also counts the unfinished task: unfinished = pushed_ - done_.
      pushed_.store(pos + 1, std::memory_order_release);
    }
    if (trace::Enabled()) TraceDepth();
    if (get_.NeedsWake()) get_.WakeOne();
    return absl::OkStatus();
  }

  // Records the queue's depth (a counter on the timeline).
  void TraceDepth() const {
    trace::Counter("queue", "queue depth", static_cast<double>(QSize()));
  }

  static void CheckTimeout(absl::Duration timeout) {
    if (timeout < absl::ZeroDuration()) {
      pyconc::internal::Misuse("ValueError",
                               "'timeout' must be a non-negative number");
    }
  }

  // Whether a Put may go ahead: there is room, or the queue is shut down.
  bool CanPut() ABSL_EXCLUSIVE_LOCKS_REQUIRED(put_.mu()) {
    if (maxsize_ <= 0) return true;
    const int64_t pushed = pushed_.load(std::memory_order_relaxed);
    if (pushed - popped_seen_ < maxsize_) return true;
    popped_seen_ = popped_.load(std::memory_order_acquire);
    return pushed - popped_seen_ < maxsize_ ||
           shutdown_.load(std::memory_order_relaxed);
  }

  // Whether a Get may go ahead: there is an item (then pushed_seen_ is past
  // it), or the queue is shut down (then pushed_seen_ counts every item that
  // will ever be).
  bool CanGet() ABSL_EXCLUSIVE_LOCKS_REQUIRED(get_.mu()) {
    const int64_t popped = popped_.load(std::memory_order_relaxed);
    if (popped < pushed_seen_) return true;
    pushed_seen_ = pushed_.load(std::memory_order_seq_cst);
    if (popped < pushed_seen_) return true;
    if (!shutdown_.load(std::memory_order_seq_cst)) return false;
    // Puts end before the flag is set, so this load sees the last of them.
    pushed_seen_ = pushed_.load(std::memory_order_seq_cst);
    return true;
  }

  // What a spinning putter or getter waits for: room or items for a batch (half
  // the queue at most, so that one side always has its batch), or for one.
  int64_t Wanted(bool batch) const {
    constexpr int64_t kBatch = 256;
    if (!batch) return 1;
    return maxsize_ <= 0 ? kBatch
                         : std::clamp<int64_t>(maxsize_ / 2, 1, kBatch);
  }
  bool RoomLikely(bool batch) const {
    const int64_t popped = popped_.load(std::memory_order_relaxed);
    const int64_t size = pushed_.load(std::memory_order_relaxed) - popped;
    return maxsize_ - size >= Wanted(batch) ||
           shutdown_.load(std::memory_order_relaxed);
  }
  bool ItemsLikely(bool batch) const {
    const int64_t popped = popped_.load(std::memory_order_relaxed);
    const int64_t size = pushed_.load(std::memory_order_relaxed) - popped;
    return size >= Wanted(batch) || shutdown_.load(std::memory_order_relaxed);
  }
  bool AllTasksDoneLikely(bool /*batch*/) const {
    return done_.load(std::memory_order_relaxed) ==
           pushed_.load(std::memory_order_relaxed);
  }

  bool AllTasksDone() ABSL_EXCLUSIVE_LOCKS_REQUIRED(join_.mu()) {
    const int64_t done = done_.load(std::memory_order_seq_cst);
    return pushed_.load(std::memory_order_seq_cst) == done;
  }

  const int64_t maxsize_;
  std::atomic<bool> shutdown_{false};
  Buffer buffer_;

  // Putters. Their counter and their view of the getters' counter.
  internal::WaitSide put_;
  alignas(64) std::atomic<int64_t> pushed_{0};
  int64_t popped_seen_ ABSL_GUARDED_BY(put_.mu()) = 0;

  // Getters. Their counter and their view of the putters' counter.
  internal::WaitSide get_;
  alignas(64) std::atomic<int64_t> popped_{0};
  int64_t pushed_seen_ ABSL_GUARDED_BY(get_.mu()) = 0;

  // Tasks marked done, and the threads in Join(). Unfinished tasks are
  // pushed_ - done_, so a Put pays nothing for task accounting.
  alignas(64) std::atomic<int64_t> done_{0};
  internal::WaitSide join_;
};

}  // namespace pyconc::queue

#endif  // PYCONC_QUEUE_BASIC_QUEUE_H_
