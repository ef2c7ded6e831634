// Queue<T>: Python's multiprocessing.Queue for C++, a FIFO that many
// producer and consumer processes (and their threads) share.
//
//   q = multiprocessing.Queue(maxsize=8)  ->  Queue<int> q({.maxsize = 8});
//   q.put(x); q.put(x, timeout=0.5)       ->  q.Put(x);
//                                             q.Put(x,
//                                             absl::Milliseconds(500));
//   q.get(); q.get_nowait()               ->  q.Get(); q.GetNowait();
//   q.qsize(); q.empty(); q.full()        ->  q.QSize(); q.Empty(); q.Full();
//   q.close()                             ->  q.Close();
//
// Give a Queue to a Process as an argument and the child's copy is the same
// queue. Within one process, copies of a Queue object are the same queue too.
// Every item is delivered exactly once, to one Get, in the order of the Puts
// that one producer made. Items are serialized with cereal (any type with a
// cereal `serialize` crosses).
//
// Expected outcomes are values, as in pyconc's thread queues: a Get that runs
// out of time answers "queue.Empty" (kUnavailable), a Put on a full bounded
// queue "queue.Full" (kResourceExhausted). Items of any size cross. Using a
// closed queue is misuse (Python's ValueError).
//
// As in Python, Put() never waits on an unbounded queue: an item the kernel
// cannot take at once (nobody is reading, or the item is large) waits in this
// process's buffer, which a feeder thread (started the first time it is
// needed) writes out in order. Close(), destroying the last copy of the queue
// in a process, and that process's exit wait until its buffer is written out,
// as Python's feeder thread is joined (so a process that put items nobody
// will ever get does not exit; Python warns of the same). A feeder thread
// started before the process's first Process starts the fork server first,
// while the process still has one thread.
//
// How it works: items are frames (a length, then the bytes) on an AF_UNIX
// stream socket pair. A process-shared write lock keeps each frame whole among
// writers, a read lock lets one reader at a time take a whole frame (Python's
// _wlock and _rlock), and `maxsize` is a process-shared semaphore; all three
// live in a page of shared memory (memfd).
//
// Thread-safety: every member may be called from any thread, in any process
// that holds the queue, except Close(), which must not race with other calls
// in the same process. A Put happens before the Get that returns its item.
// Fork-safety: nothing here forks; the queue crosses only as a Process
// argument.

#ifndef PYCONC_MULTIPROCESSING_PROCESS_QUEUE_H_
#define PYCONC_MULTIPROCESSING_PROCESS_QUEUE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "multiprocessing/process/internal/serialize.h"
#include "multiprocessing/process/process.h"

namespace pyconc::multiprocessing {

// The keyword arguments of Python's multiprocessing.Queue(maxsize=...).
struct QueueOptions {
  // At most this many items wait in the queue; 0 or less is "no bound".
  int maxsize = 0;
};

namespace internal {

// The byte-level queue under Queue<T>; one per process that holds the queue.
class QueueCore {
 public:
  explicit QueueCore(int maxsize);
  // An empty shell that load() fills.
  explicit QueueCore(LoadTag) {}
  QueueCore(const QueueCore&) = delete;
  QueueCore& operator=(const QueueCore&) = delete;
  ~QueueCore();

  absl::Status Put(std::string bytes, absl::Duration timeout);
  absl::StatusOr<std::string> Get(absl::Duration timeout);
  int QSize() const;
  bool Full() const;
  // Writes out the buffer, then closes the descriptors.
  void Close();
  // Waits until this process's buffer is written out (at exit).
  void Flush();
  // JoinableQueue's task_done() and join(): every Put counts a task.
  void TaskDone();
  void Join();

  template <typename Archive>
  void save(Archive& archive) const {
    CheckOpen();
    archive(ExportFd(put_fd_.get()), ExportFd(get_fd_.get()),
            ExportFd(shared_fd_.get()), maxsize_);
  }
  template <typename Archive>
  void load(Archive& archive) {
    int put = -1, get = -1, shared = -1;
    archive(put, get, shared, maxsize_);
    put_fd_ = ImportFd(put);
    get_fd_ = ImportFd(get);
    shared_fd_ = ImportFd(shared);
    MapShared();
  }

 private:
  struct Shared;

  void CheckOpen() const;
  void MapShared();
  // Queues `frame` (a whole frame, or the unwritten rest of one whose write
  // lock this process holds) for the feeder, starting it if need be.
  void Buffer(std::string frame, bool holds_write_lock)
      ABSL_LOCKS_EXCLUDED(feed_mu_);
  // The feeder thread: writes the buffer out, frame by frame, until closed.
  void Feed();
  bool FeedReady() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(feed_mu_) {
    return !pending_.empty() || closing_;
  }
  bool Flushed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(feed_mu_) {
    return pending_.empty();
  }

  UniqueFd put_fd_;     // Producers write frames here...
  UniqueFd get_fd_;     // ...and consumers read them here.
  UniqueFd shared_fd_;  // The memfd holding Shared.
  Shared* shared_ = nullptr;
  int maxsize_ = 0;

  // This process's buffer: frames waiting for the feeder, in Put order. The
  // front stays in place while the feeder writes it, so that a Put that
  // finds the buffer empty may write directly without overtaking it.
  mutable absl::Mutex feed_mu_;
  std::deque<std::string> pending_ ABSL_GUARDED_BY(feed_mu_);
  // The front frame is the rest of one already begun: the write lock is held.
  bool front_locked_ ABSL_GUARDED_BY(feed_mu_) = false;
  bool closing_ ABSL_GUARDED_BY(feed_mu_) = false;
  std::thread feeder_ ABSL_GUARDED_BY(feed_mu_);
};

}  // namespace internal

// Python's multiprocessing.Queue. See the top of this file.
template <typename T>
class Queue {
 public:
  // Python's Queue(maxsize=0): unbounded unless options say otherwise.
  explicit Queue(QueueOptions options = {})
      : core_(std::make_shared<internal::QueueCore>(options.maxsize)) {}
  // For cereal: a queue about to be loaded.
  explicit Queue(internal::LoadTag tag)
      : core_(std::make_shared<internal::QueueCore>(tag)) {}

  // Python's put(item, timeout=None): waits up to `timeout` for room.
  absl::Status Put(const T& item,
                   absl::Duration timeout = absl::InfiniteDuration()) {
    absl::StatusOr<std::string> bytes = internal::Encode(item);
    return bytes.ok() ? core_->Put(*std::move(bytes), timeout) : bytes.status();
  }
  // Python's put_nowait(item).
  absl::Status PutNowait(const T& item) {
    return Put(item, absl::ZeroDuration());
  }

  // Python's get(timeout=None): waits up to `timeout` for an item.
  absl::StatusOr<T> Get(absl::Duration timeout = absl::InfiniteDuration()) {
    absl::StatusOr<std::string> bytes = core_->Get(timeout);
    if (!bytes.ok()) return bytes.status();
    return internal::Decode<T>(*bytes);
  }
  // Python's get_nowait().
  absl::StatusOr<T> GetNowait() { return Get(absl::ZeroDuration()); }

  // Python's qsize(), empty() and full(): snapshots, stale as soon as they are
  // read when other processes use the queue.
  int QSize() const { return core_->QSize(); }
  bool Empty() const { return QSize() == 0; }
  bool Full() const { return core_->Full(); }

  // Python's close() and join_thread(): this process will use the queue no
  // more; once its buffered items are written out, its descriptors are closed
  // (for every copy in this process).
  void Close() { core_->Close(); }

  template <typename Archive>
  void save(Archive& archive) const {
    core_->save(archive);
  }
  template <typename Archive>
  void load(Archive& archive) {
    core_->load(archive);
  }

 protected:
  std::shared_ptr<internal::QueueCore> core_;
};

// Python's multiprocessing.JoinableQueue: a Queue whose consumers report each
// item done, so that a producer can wait until every item put has been
// processed, across processes.
//
//   q.task_done(); q.join()  ->  q.TaskDone(); q.Join();
//
// TaskDone() more often than items were put is misuse (Python's ValueError).
template <typename T>
class JoinableQueue : public Queue<T> {
 public:
  using Queue<T>::Queue;

  // Python's task_done(): the item a Get returned has been processed.
  void TaskDone() { this->core_->TaskDone(); }
  // Python's join(): waits until every item ever put has been TaskDone().
  void Join() { this->core_->Join(); }
};

}  // namespace pyconc::multiprocessing

#endif  // PYCONC_MULTIPROCESSING_PROCESS_QUEUE_H_
