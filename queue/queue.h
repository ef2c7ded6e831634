// pyconc::queue: Python's queue module for C++ threads.
//
// A queue hands items from the threads that produce them to the threads that
// consume them, and is the simplest safe way for threads to share work: no
// shared variable, no lock in user code. The four kinds mirror Python's:
//
//   Python                       pyconc
//   queue.Queue(maxsize=8)       queue::Queue<Job> q(8)
//   queue.LifoQueue()            queue::LifoQueue<Job>   (last in, first out)
//   queue.PriorityQueue()        queue::PriorityQueue<Job, Compare>
//   queue.SimpleQueue()          queue::SimpleQueue<Job> (no bound, no tasks)
//   q.put(x, timeout=1)          q.Put(x, absl::Seconds(1))
//   q.put_nowait(x)              q.PutNowait(x)
//   x = q.get()                  absl::StatusOr<Job> x = q.Get();
//   q.get_nowait()               q.GetNowait()
//   except queue.Empty:          if (IsEmpty(x.status()))
//   q.task_done(); q.join()      q.TaskDone(); q.Join();
//   q.shutdown(immediate=True)   q.Shutdown(/*immediate=*/true)  (3.13)
//   q.qsize(), q.empty()         q.QSize(), q.Empty(), q.Full()
//
// Where C++ differs from Python: an empty, full or shut-down queue answers with
// a status value (queue/status.h), never an exception; a negative timeout or a
// TaskDone() too many is misuse and aborts. Element types may be move-only. If
// an element's move or the priority comparison throws, the exception leaves the
// call and the queue is as before the call (the item was not added, or not
// removed).
//
// Thread-safety: every member function may be called from any thread at any
// time; only destruction must wait until no thread is inside a call. Blocked
// threads wake in the order they slept (each side's condition variable is
// FIFO), one per item or slot of room, and at most one thread per side spins
// instead of sleeping. That is fair enough that no producer or consumer starves
// under load, though not strictly first come, first served: a thread arriving
// just as an item appears may take it before a woken sleeper does (as in
// Python).
//
// Memory ordering: everything a thread did before a successful Put(x) happens
// before everything the thread that Get()s x does after; the TaskDone() that
// finishes the last task happens before Join() returns; Shutdown() happens
// before the ShutDown results it causes.

#ifndef PYCONC_QUEUE_QUEUE_H_
#define PYCONC_QUEUE_QUEUE_H_

#include <cstdint>
#include <functional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "queue/basic_queue.h"
#include "queue/internal/fifo_buffer.h"
#include "queue/internal/heap_buffer.h"
#include "queue/internal/stack_buffer.h"
#include "queue/status.h"

namespace pyconc::queue {

// Python's queue.Queue: first in, first out. See basic_queue.h for the members.
template <typename T>
class Queue : public BasicQueue<T, internal::FifoBuffer<T>> {
 public:
  using BasicQueue<T, internal::FifoBuffer<T>>::BasicQueue;
};

// Python's queue.LifoQueue: the item put last comes out first.
template <typename T>
class LifoQueue : public BasicQueue<T, internal::StackBuffer<T>> {
 public:
  using BasicQueue<T, internal::StackBuffer<T>>::BasicQueue;
};

// Python's queue.PriorityQueue: the least item comes out first, where `a` is
// less than `b` when Compare{}(a, b) (so std::less gives Python's order, least
// first; equal items come out in no particular order, as from Python's heapq).
template <typename T, typename Compare = std::less<T>>
class PriorityQueue : public BasicQueue<T, internal::HeapBuffer<T, Compare>> {
 public:
  using BasicQueue<T, internal::HeapBuffer<T, Compare>>::BasicQueue;
};

// Python's queue.SimpleQueue: unbounded, first in, first out, without task
// tracking or shutdown; Put never waits and never fails.
template <typename T>
class SimpleQueue {
 public:
  SimpleQueue() = default;

  // Python's put(item) and put_nowait(item); Python ignores block and timeout.
  void Put(T&& item) { queue_.Put(std::move(item)).IgnoreError(); }
  void Put(const T& item) { queue_.Put(item).IgnoreError(); }
  void PutNowait(T&& item) { Put(std::move(item)); }
  void PutNowait(const T& item) { Put(item); }

  // Python's get(timeout=...): EmptyError() if no item came within `timeout`.
  absl::StatusOr<T> Get(absl::Duration timeout = absl::InfiniteDuration()) {
    return queue_.Get(timeout);
  }
  // Python's get_nowait().
  absl::StatusOr<T> GetNowait() { return queue_.GetNowait(); }

  // Python's qsize() and empty().
  int64_t QSize() const { return queue_.QSize(); }
  bool Empty() const { return queue_.Empty(); }

 private:
  BasicQueue<T, internal::FifoBuffer<T>, /*kTracksTasks=*/false> queue_;
};

}  // namespace pyconc::queue

#endif  // PYCONC_QUEUE_QUEUE_H_
