// Queue<T>, LifoQueue<T>, PriorityQueue<T>: Python's asyncio queues
// (asyncio/queues.py, 3.13), handing items between tasks of one event loop.
//
//   Python                               pyconc
//   q = asyncio.Queue(maxsize=8)         Queue<Job> q(8);
//   asyncio.LifoQueue()                  LifoQueue<Job>  (last in, first out)
//   asyncio.PriorityQueue()              PriorityQueue<Job, Compare>
//   await q.put(x)                       absl::Status s = co_await q.Put(x);
//   x = await q.get()                    absl::StatusOr<Job> x = co_await
//                                            q.Get();
//   q.put_nowait(x), q.get_nowait()      q.PutNowait(x), q.GetNowait()
//   except asyncio.QueueFull:            IsError(s, PythonError::
//                                            kAsyncioQueueFull)
//   q.task_done(); await q.join()        q.TaskDone(); co_await q.Join();
//   q.shutdown(immediate=True)           q.Shutdown(/*immediate=*/true)
//   q.qsize(), q.empty(), q.full()       q.QSize(), q.Empty(), q.Full()
//
// Where it matches Python 3.13: Put waits while the queue is full, Get while
// it is empty; each item or free slot wakes the oldest waiter, which then
// checks again (so, as in Python, a task arriving between the wake-up and the
// waiter's turn may take the item first, and the waiter waits again). A Get
// or Put cancelled while waiting throws CancelledError, leaves no waiter
// behind and takes no item or slot; a wake-up it had received passes to the
// next waiter. Shutdown(immediate) is 3.13's: Put then fails with
// QueueShutDown; Get fails once the queue is empty (at once when
// `immediate`, which also discards the items and counts them done for Join);
// every waiting Put and Get wakes to see it. TaskDone/Join count items as in
// Python; maxsize <= 0 means unbounded.
//
// Where C++ differs: QueueEmpty, QueueFull and QueueShutDown are values
// (//base:errors' kAsyncioQueueEmpty, kAsyncioQueueFull,
// kAsyncioQueueShutDown), never exceptions; cancellation stays the exception
// CancelledError. Put takes the item by value: a Put that fails or is
// cancelled destroys its copy, as Python's drops its reference; PutNowait
// (const T& or T&&) moves or copies the item only when it goes in, so a
// failed PutNowait leaves the caller's item untouched. TaskDone() too many
// is misuse (Python's ValueError). A PriorityQueue orders by Compare
// (std::less gives Python's order, least first; equal items in no particular
// order, as heapq).
//
// Lifetime: a queue must outlive the tasks waiting on it (see locks.h).
//
// Thread-safety: like Python's, not thread-safe: use a queue on its loop's
// thread (it binds to the loop of the first task that waits on it); another
// thread reaches it through CallSoonThreadsafe, or uses //queue instead.

#ifndef PYCONC_ASYNCIO_QUEUES_H_
#define PYCONC_ASYNCIO_QUEUES_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "asyncio/coroutine.h"
#include "asyncio/errors.h"
#include "asyncio/internal/wait_list.h"
#include "asyncio/locks.h"
#include "base/errors.h"

namespace pyconc::asyncio {
namespace internal {

[[noreturn]] void TaskDoneTooManyTimes();

// The storage of each kind: Python's _init, _put, _get. FIFO and LIFO both
// add at the back of a sequence; FIFO takes from its front, LIFO from its back.
template <typename T, typename Sequence, bool kFromFront>
class SequenceItems {
 public:
  template <typename U>
  void Push(U&& item) {
    items_.push_back(std::forward<U>(item));
  }
  T Pop() {
    if constexpr (kFromFront) {
      T item = std::move(items_.front());
      items_.pop_front();
      return item;
    } else {
      T item = std::move(items_.back());
      items_.pop_back();
      return item;
    }
  }
  size_t size() const { return items_.size(); }
  void Clear() { items_.clear(); }

 private:
  Sequence items_;
};
template <typename T>
using FifoItems = SequenceItems<T, std::deque<T>, /*kFromFront=*/true>;
template <typename T>
using LifoItems = SequenceItems<T, std::vector<T>, /*kFromFront=*/false>;

template <typename T, typename Compare>
class HeapItems {
 public:
  template <typename U>
  void Push(U&& item) {
    items_.push_back(std::forward<U>(item));
    std::push_heap(items_.begin(), items_.end(), Later{});
  }
  T Pop() {
    std::pop_heap(items_.begin(), items_.end(), Later{});
    T item = std::move(items_.back());
    items_.pop_back();
    return item;
  }
  size_t size() const { return items_.size(); }
  void Clear() { items_.clear(); }

 private:
  // std's heap functions keep the greatest on top; the least comes first.
  struct Later {
    bool operator()(const T& a, const T& b) const { return Compare{}(b, a); }
  };
  std::vector<T> items_;
};

}  // namespace internal

// The members every kind has; Items is its storage.
template <typename T, typename Items>
class BasicQueue {
 public:
  // Python's Queue(maxsize=0): at most `maxsize` items, unbounded if <= 0.
  explicit BasicQueue(int64_t maxsize = 0) : maxsize_(maxsize) {
    finished_.Set();
  }
  BasicQueue(const BasicQueue&) = delete;
  BasicQueue& operator=(const BasicQueue&) = delete;

  // Python's qsize(), maxsize, empty(), full().
  int64_t QSize() const { return static_cast<int64_t>(items_.size()); }
  int64_t maxsize() const { return maxsize_; }
  bool Empty() const { return items_.size() == 0; }
  bool Full() const { return maxsize_ > 0 && QSize() >= maxsize_; }

  // Python's put(item): waits for a free slot; QueueShutDown once shut down.
  Coroutine<absl::Status> Put(T item) {
    while (Full()) {
      if (shutdown_) co_return ShutDownError();
      internal::Waiter putter(putters_, "Queue.Put");
      try {
        co_await putter;
      } catch (const CancelledError&) {
        putter.Unlink();
        // Woken for a slot we will not use: wake the next in line.
        if (!Full() && putter.woken()) WakeUpNext(putters_);
        throw;
      }
    }
    co_return PutNowait(std::move(item));
  }
  // Python's put_nowait(item): QueueFull when full, QueueShutDown once shut
  // down; the item is moved or copied only when it goes in.
  absl::Status PutNowait(T&& item) { return PutImpl(std::move(item)); }
  absl::Status PutNowait(const T& item) { return PutImpl(item); }

  // Python's get(): waits for an item; QueueShutDown once shut down and
  // empty.
  Coroutine<absl::StatusOr<T>> Get() {
    while (Empty()) {
      if (shutdown_) co_return ShutDownError();
      internal::Waiter getter(getters_, "Queue.Get");
      try {
        co_await getter;
      } catch (const CancelledError&) {
        getter.Unlink();
        // Woken for an item we will not take: wake the next in line.
        if (!Empty() && getter.woken()) WakeUpNext(getters_);
        throw;
      }
    }
    co_return GetNowait();
  }
  // Python's get_nowait(): QueueEmpty when empty (QueueShutDown once shut
  // down).
  absl::StatusOr<T> GetNowait() {
    if (Empty()) {
      if (shutdown_) return ShutDownError();
      return MakeError(PythonError::kAsyncioQueueEmpty);
    }
    T item = items_.Pop();
    WakeUpNext(putters_);
    return item;
  }

  // Python's task_done(): one item fetched earlier is processed. Misuse
  // (ValueError) when called more often than items were put.
  void TaskDone() {
    if (unfinished_ <= 0) internal::TaskDoneTooManyTimes();
    if (--unfinished_ == 0) finished_.Set();
  }
  // Python's join(): waits until every item put has been TaskDone().
  Coroutine<void> Join() {
    if (unfinished_ > 0) co_await finished_.Wait();
  }
  // Python's shutdown(immediate=False); see the top of this file.
  void Shutdown(bool immediate = false) {
    shutdown_ = true;
    if (immediate) {
      const int64_t discarded = QSize();
      items_.Clear();
      unfinished_ = std::max<int64_t>(0, unfinished_ - discarded);
      if (unfinished_ == 0) finished_.Set();
    }
    // Every waiter wakes to see the shutdown.
    while (internal::Waiter* getter = getters_.PopFront()) getter->Wake();
    while (internal::Waiter* putter = putters_.PopFront()) putter->Wake();
  }
  // Python's unfinished_tasks attribute (for tools and tests).
  int64_t unfinished_tasks() const { return unfinished_; }

 private:
  static absl::Status ShutDownError() {
    return MakeError(PythonError::kAsyncioQueueShutDown);
  }
  // Python's _wakeup_next: wakes the oldest waiter not cancelled, dropping
  // the ones before it from the list.
  static void WakeUpNext(internal::WaitList& waiters) {
    while (internal::Waiter* waiter = waiters.PopFront()) {
      if (waiter->Wake()) return;
    }
  }
  template <typename U>
  absl::Status PutImpl(U&& item) {
    if (shutdown_) return ShutDownError();
    if (Full()) return MakeError(PythonError::kAsyncioQueueFull);
    items_.Push(std::forward<U>(item));
    ++unfinished_;
    finished_.Clear();
    WakeUpNext(getters_);
    return absl::OkStatus();
  }

  int64_t maxsize_;
  Items items_;
  internal::WaitList getters_;
  internal::WaitList putters_;
  int64_t unfinished_ = 0;
  Event finished_;
  bool shutdown_ = false;
};

// Python's asyncio.Queue: first in, first out.
template <typename T>
class Queue : public BasicQueue<T, internal::FifoItems<T>> {
 public:
  using BasicQueue<T, internal::FifoItems<T>>::BasicQueue;
};

// Python's asyncio.LifoQueue: the item put last comes out first.
template <typename T>
class LifoQueue : public BasicQueue<T, internal::LifoItems<T>> {
 public:
  using BasicQueue<T, internal::LifoItems<T>>::BasicQueue;
};

// Python's asyncio.PriorityQueue: the least item under Compare first.
template <typename T, typename Compare = std::less<T>>
class PriorityQueue : public BasicQueue<T, internal::HeapItems<T, Compare>> {
 public:
  using BasicQueue<T, internal::HeapItems<T, Compare>>::BasicQueue;
};

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_QUEUES_H_
