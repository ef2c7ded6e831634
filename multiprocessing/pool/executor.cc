#include "multiprocessing/pool/executor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/errors.h"
#include "base/misuse.h"
#include "base/trace.h"
#include "multiprocessing/process/connection.h"
#include "multiprocessing/process/internal/io.h"
#include "threading/thread/thread.h"

namespace pyconc::futures {
namespace internal {

using multiprocessing::Connection;
using multiprocessing::Process;

std::exception_ptr UnpicklingError(const std::exception& e) {
  return std::make_exception_ptr(
      RemoteError(absl::StrCat("pickle.UnpicklingError: ", e.what())));
}

namespace {

// Calls sent to a worker and not yet answered, at most: enough that a worker
// running tiny calls never waits for the parent. They stay pending (and
// cancellable) until the worker claims them in its ClaimRing.
constexpr size_t kWindow = 256;
// And at least: the call a worker runs and the next, as before its first
// answers tell how long its calls take.
constexpr size_t kMinWindow = 2;
// The work a worker may hold ahead of the call it runs, in its recent calls'
// time: calls queued behind a slow one on one worker wait for it while
// another worker may idle (Python's workers share one queue), so a worker
// holds kWindow calls of a few microseconds but only kMinWindow of a
// millisecond or more.
constexpr int64_t kAheadBudgetNs = 1'000'000;
// A Map() chunk runs once sent (see executor.h): it goes only to a worker
// with fewer calls than this in hand.
constexpr size_t kChunkWindow = 2;

// The claim of each call sent to one worker, in memory shared with it: word
// `seq % kWindow` is seq * 4 + the call's state. The parent offers a call
// (kOffered) before it sends it; the worker claims it (kStarted) just before
// running it, or skips it when the parent stopped it first (kStopped), each
// with one compare-and-swap on the word. The sequence number in the word
// keeps a late Cancel() of an older call from touching the call that reuses
// its word. A worker answers its calls in order, so the kWindow calls in
// flight never share a word.
class ClaimRing {
 public:
  // A new ring in a new shared file, which the worker maps (*file).
  static absl::StatusOr<std::shared_ptr<ClaimRing>> Create(
      multiprocessing::internal::UniqueFd* file) {
    multiprocessing::internal::UniqueFd fd(
        ::memfd_create("pyconc-pool-claims", MFD_CLOEXEC));
    if (!fd.valid()) return ErrnoError(errno, "memfd_create");
    if (::ftruncate(fd.get(), kBytes) != 0) {
      return ErrnoError(errno, "ftruncate");
    }
    std::shared_ptr<ClaimRing> ring = Map(fd.get());
    if (ring == nullptr) return ErrnoError(errno, "mmap");
    // Sequence 0, never used, stopped: no word starts out offered.
    for (size_t i = 0; i < kWindow; ++i) {
      ring->words_[i].store(kStopped, std::memory_order_relaxed);
    }
    *file = std::move(fd);
    return ring;
  }

  // The ring in `fd` (made by Create()); null with errno set when it cannot
  // be mapped.
  static std::shared_ptr<ClaimRing> Map(int fd) {
    void* words =
        ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (words == MAP_FAILED) return nullptr;
    return std::shared_ptr<ClaimRing>(
        new ClaimRing(static_cast<std::atomic<uint64_t>*>(words)));
  }

  ClaimRing(const ClaimRing&) = delete;
  ClaimRing& operator=(const ClaimRing&) = delete;
  ~ClaimRing() { ::munmap(words_, kBytes); }

  // The parent, before sending call `seq`: it may be claimed or stopped.
  void Offer(uint64_t seq) {
    Word(seq).store(seq * 4 + kOffered, std::memory_order_release);
  }
  // Claims call `seq` to run it (the worker), or to fail it (the parent,
  // when its worker died): true when it started (now or before), false when
  // it was stopped.
  bool Claim(uint64_t seq) {
    uint64_t word = seq * 4 + kOffered;
    return Word(seq).compare_exchange_strong(word, seq * 4 + kStarted,
                                             std::memory_order_acq_rel) ||
           word == seq * 4 + kStarted;
  }
  // Future::Cancel(): true when call `seq` will never start (stopped now or
  // before), false when it has started.
  bool Stop(uint64_t seq) {
    uint64_t word = seq * 4 + kOffered;
    return Word(seq).compare_exchange_strong(word, seq * 4 + kStopped,
                                             std::memory_order_acq_rel) ||
           word == seq * 4 + kStopped;
  }
  // Whether call `seq` has started (false too once its word is reused: the
  // call has been answered by then).
  bool Started(uint64_t seq) const {
    return Word(seq).load(std::memory_order_acquire) == seq * 4 + kStarted;
  }
  // Shutdown(cancel_futures): stops every offered call not yet claimed.
  void StopAll() {
    for (size_t i = 0; i < kWindow; ++i) {
      uint64_t word = words_[i].load(std::memory_order_acquire);
      while (word % 4 == kOffered &&
             !words_[i].compare_exchange_weak(word, word - kOffered + kStopped,
                                              std::memory_order_acq_rel)) {
      }
    }
  }

 private:
  enum : uint64_t { kOffered = 0, kStarted = 1, kStopped = 2 };
  static constexpr size_t kBytes = 4096;
  static_assert(kWindow * sizeof(uint64_t) <= kBytes);
  static_assert(std::atomic<uint64_t>::is_always_lock_free);

  explicit ClaimRing(std::atomic<uint64_t>* words) : words_(words) {}

  std::atomic<uint64_t>& Word(uint64_t seq) const {
    return words_[seq % kWindow];
  }

  std::atomic<uint64_t>* const words_;
};

// A call's claim, as its Futures see it.
class ClaimHook : public StartHook {
 public:
  ClaimHook(std::shared_ptr<ClaimRing> ring, uint64_t seq)
      : ring_(std::move(ring)), seq_(seq) {}
  bool TryCancel() override { return ring_->Stop(seq_); }
  bool Started() const override { return ring_->Started(seq_); }

 private:
  const std::shared_ptr<ClaimRing> ring_;
  const uint64_t seq_;
};

// A descriptor on its way to a worker (a Process argument): its ClaimRing's
// file, the write end of its result pipe.
struct PassedFd {
  int fd = -1;  // Borrowed in the parent; owned by the worker once loaded.

  template <typename Archive>
  void save(Archive& archive) const {
    archive(multiprocessing::internal::ExportFd(fd));
  }
  template <typename Archive>
  void load(Archive& archive) {
    int index = -1;
    archive(index);
    fd = multiprocessing::internal::ImportFd(index).release();
  }
};

// The streams between the manager and a worker are runs of records, each a
// header and `size` bytes, which follow it unless `in_file` (then they are in
// the shared file whose descriptor came with the header: a large Message):
//   to a worker:   id, tag = entry (the CallEntry's address), seq = the
//                  call's number in the worker's ClaimRing, payload
//                  (id 0: exit now)
//   from a worker: id, tag = ok (kResult, kRaised with an exception's text,
//                  or kSkipped: the call was stopped before it started),
//                  bytes; through a pipe (cheaper than the socket for
//                  small records), but through the socket when in a file
//                  (the descriptor must travel)
struct RecordHeader {
  uint64_t id = 0;
  uint64_t tag = 0;
  uint64_t seq = 0;
  uint64_t size = 0;
  uint64_t in_file = 0;
};
enum : uint64_t { kRaised = 0, kResult = 1, kSkipped = 2 };

// The records arriving on a socket. Small ones are read in large pieces (one
// read brings many of them); a record larger than a piece has its body read
// straight into memory of its own, committed as the bytes arrive. From a pipe
// (no descriptors come), records must not be in files.
class RecordReader {
 public:
  explicit RecordReader(bool socket = true) : socket_(socket) {}

  // Reads what the socket holds (waiting for it when `wait`): true when
  // bytes came, false at EOF or on an error (errno EAGAIN: none yet).
  bool Fill(int fd, bool wait) {
    DropTaken();
    if (broken_) {
      errno = EPROTO;  // A file record without its file: a broken peer.
      return false;
    }
    char* into;
    size_t want;
    if (large_.size() > 0) {
      into = large_.data() + large_done_;
      want = large_.size() - large_done_;
    } else {
      if (begin_ > 0) {
        std::memmove(data_.data(), data_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      if (end_ >= sizeof(RecordHeader)) {
        std::memcpy(&large_header_, data_.data(), sizeof(large_header_));
        if (large_header_.in_file == 0 && large_header_.size > kChunk &&
            end_ - sizeof(RecordHeader) < large_header_.size) {
          return StartLarge(fd, wait);
        }
      }
      if (data_.size() < end_ + kChunk) data_.resize(end_ + kChunk);
      into = data_.data() + end_;
      want = kChunk;
    }
    const ssize_t n = Receive(fd, into, want, wait);
    if (n <= 0) return false;
    if (large_.size() > 0) {
      large_done_ += static_cast<size_t>(n);
    } else {
      end_ += static_cast<size_t>(n);
    }
    return true;
  }

  // The next whole record, if one is buffered; `bytes` is valid until the
  // next Fill() or Next().
  bool Next(RecordHeader* header, std::string_view* bytes) {
    DropTaken();
    if (large_.size() > 0) {
      if (large_done_ < large_.size()) return false;
      *header = large_header_;
      *bytes = std::string_view(large_.data(), large_.size());
      large_taken_ = true;
      return true;
    }
    if (end_ - begin_ < sizeof(RecordHeader)) return false;
    std::memcpy(header, data_.data() + begin_, sizeof(*header));
    if (header->in_file != 0) {
      // The file came with the header's first byte, if the peer sent one.
      if (files_.empty() ||
          !large_.MapFile(files_.front().get(), header->size)) {
        broken_ = true;
        return false;
      }
      large_file_ = std::move(files_.front());
      files_.pop_front();
      begin_ += sizeof(RecordHeader);
      if (begin_ == end_) begin_ = end_ = 0;
      *bytes = std::string_view(large_.data(), large_.size());
      large_taken_ = true;
      return true;
    }
    if (end_ - begin_ - sizeof(RecordHeader) < header->size) return false;
    *bytes = std::string_view(data_.data() + begin_ + sizeof(RecordHeader),
                              header->size);
    begin_ += sizeof(RecordHeader) + header->size;
    if (begin_ == end_) begin_ = end_ = 0;
    return true;
  }

 private:
  static constexpr size_t kChunk = 64 << 10;
  // Descriptors one read may bring (a writer sends one at a time).
  static constexpr size_t kMaxFiles = 4;

  // Reads into `into`, keeping the descriptors that come with the bytes.
  ssize_t Receive(int fd, char* into, size_t want, bool wait) {
    if (!socket_) {
      // A pipe: non-blocking when opened so (the manager's end).
      ssize_t n;
      do {
        n = ::read(fd, into, want);
      } while (n < 0 && errno == EINTR);
      if (n == 0) errno = 0;
      return n;
    }
    iovec part = {into, want};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFiles)];
    msghdr message = {};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    ssize_t n;
    do {
      n = ::recvmsg(fd, &message, MSG_CMSG_CLOEXEC | (wait ? 0 : MSG_DONTWAIT));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return n;
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr;
         c = CMSG_NXTHDR(&message, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int file;
        std::memcpy(&file, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        files_.emplace_back(file);
      }
    }
    if ((message.msg_flags & MSG_CTRUNC) != 0) broken_ = true;
    if (n == 0) errno = 0;
    return n;
  }

  // The buffered header (in large_header_) starts a record larger than a
  // piece: its body goes to a buffer of its own, starting with what came
  // with the header; reads what else the socket holds.
  bool StartLarge(int fd, bool wait) {
    if (!large_.Reset(large_header_.size)) return false;
    large_done_ = end_ - sizeof(RecordHeader);
    std::memcpy(large_.data(), data_.data() + sizeof(RecordHeader),
                large_done_);
    begin_ = end_ = 0;
    return Fill(fd, wait);
  }

  // Releases the large record that Next() returned; its file, read, is
  // this process's to reuse.
  void DropTaken() {
    if (!large_taken_) return;
    large_.Release();
    if (large_file_.valid()) {
      multiprocessing::internal::OfferMessageFile(std::move(large_file_));
    }
    large_done_ = 0;
    large_taken_ = false;
  }

  std::string data_;  // Small records: data_[begin_, end_) is unread.
  size_t begin_ = 0;
  size_t end_ = 0;
  // The large record being read, if any: its header and body, of which
  // large_done_ bytes have come; large_taken_ once Next() has returned it.
  RecordHeader large_header_;
  multiprocessing::internal::MappedBuffer large_;
  multiprocessing::internal::UniqueFd large_file_;  // When in a file.
  size_t large_done_ = 0;
  bool large_taken_ = false;
  // The shared files that came with headers not yet read, in order.
  std::deque<multiprocessing::internal::UniqueFd> files_;
  bool broken_ = false;  // The peer broke the protocol.
  bool socket_;          // Else a pipe.
};

// Records on their way to a socket, written as they are (a header and the
// Message's bytes, or its file's descriptor) with as few system calls as the
// socket allows: one sendmsg() carries many small records, or one file.
class RecordWriter {
 public:
  // Queues a record of `message`, which must stay put until Pending() is
  // false or Clear() is called.
  void Add(uint64_t id, uint64_t tag, uint64_t seq,
           const multiprocessing::internal::Message& message) {
    const bool in_file = message.fd() >= 0;
    records_.push_back({.header = {id, tag, seq, message.size(), in_file},
                        .bytes = message.bytes(),
                        .file = message.fd(),
                        .done = 0});
  }

  bool Pending() const { return !records_.empty(); }

  // Forgets what is not written (the worker is gone).
  void Clear() { records_.clear(); }

  // Writes what the socket takes now, never waiting (or until all is written
  // when `wait`). False when the socket fails (the worker is gone; what is
  // left is dropped).
  bool Flush(int fd, bool wait) {
    while (!records_.empty()) {
      iovec parts[kMaxParts];
      size_t count = 0;
      int file = -1;
      for (auto it = records_.begin();
           it != records_.end() && count + 2 <= kMaxParts; ++it) {
        if (it->file >= 0 && it->done == 0) {
          // A descriptor travels with the first byte of its header, alone
          // in its sendmsg() (so that the reader gets it with that byte).
          if (count > 0) break;
          file = it->file;
        }
        const size_t header_left = it->done < sizeof(RecordHeader)
                                       ? sizeof(RecordHeader) - it->done
                                       : 0;
        if (header_left > 0) {
          parts[count++] = {reinterpret_cast<char*>(&it->header) + it->done,
                            header_left};
        }
        const size_t body_done = it->done > sizeof(RecordHeader)
                                     ? it->done - sizeof(RecordHeader)
                                     : 0;
        if (body_done < it->bytes.size()) {
          parts[count++] = {const_cast<char*>(it->bytes.data()) + body_done,
                            it->bytes.size() - body_done};
        }
        if (file >= 0) break;
      }
      msghdr message = {};
      message.msg_iov = parts;
      message.msg_iovlen = count;
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
      if (file >= 0) {
        message.msg_control = control;
        message.msg_controllen = sizeof(control);
        cmsghdr* c = CMSG_FIRSTHDR(&message);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &file, sizeof(int));
      }
      const ssize_t n =
          ::sendmsg(fd, &message, MSG_NOSIGNAL | (wait ? 0 : MSG_DONTWAIT));
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return true;
        records_.clear();
        return false;
      }
      size_t written = static_cast<size_t>(n);
      while (written > 0) {
        Record& front = records_.front();
        const size_t left =
            sizeof(RecordHeader) + front.bytes.size() - front.done;
        if (written < left) {
          front.done += written;
          break;
        }
        written -= left;
        records_.pop_front();
      }
    }
    return true;
  }

 private:
  static constexpr size_t kMaxParts = 64;
  struct Record {
    RecordHeader header;
    std::string_view bytes;  // Empty when in a file.
    int file;                // The Message's file, or -1.
    size_t done;             // Bytes of header and body written.
  };
  std::deque<Record> records_;
};

// A worker's records for its result pipe, written whole, many at once.
class PipeWriter {
 public:
  // Queues a record (bytes in memory) for the next Write().
  void Add(uint64_t id, uint64_t tag, std::string_view bytes) {
    const RecordHeader header = {id, tag, 0, bytes.size(), 0};
    buffer_.append(reinterpret_cast<const char*>(&header), sizeof(header));
    buffer_.append(bytes);
  }

  bool Pending() const { return !buffer_.empty(); }

  // Writes what is queued to `fd`, waiting for room; false when the pipe
  // fails (the parent is gone).
  bool Write(int fd) {
    std::string_view rest = buffer_;
    while (!rest.empty()) {
      const ssize_t n = ::write(fd, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      rest.remove_prefix(static_cast<size_t>(n));
    }
    const bool written = rest.empty();
    buffer_.clear();
    return written;
  }

 private:
  std::string buffer_;
};

// The timeline's flow from the manager sending call `id` to the worker running
// it: an id apart from trace::NewId()'s.
uint64_t CallFlow(uint64_t id) { return (uint64_t{1} << 62) | id; }

// The first call id of a new pool: each pool numbers its calls from its own
// 2**32.
uint64_t FirstCallId() {
  static std::atomic<uint64_t> pools{0};
  return (pools.fetch_add(1, std::memory_order_relaxed) << 32) + 1;
}

// What each worker process runs: one call at a time, each claimed in `claims`
// first (a call the parent stopped is skipped), each result sent the moment
// its call returns (through `results`, or `conn` when in a file), until told
// to stop, the parent goes away, or it has been sent `max_tasks` calls.
void WorkerMain(Connection conn, int max_tasks, InitCall init, PassedFd claims,
                PassedFd results) {
  const multiprocessing::internal::UniqueFd claims_file(claims.fd);
  const multiprocessing::internal::UniqueFd results_pipe(results.fd);
  const std::shared_ptr<ClaimRing> ring = ClaimRing::Map(claims_file.get());
  if (ring == nullptr) std::_Exit(1);
  if (init.entry != nullptr) init.entry(init.payload, init.fds.get());
  const int fd = conn.fileno();
  RecordReader in;
  RecordWriter out;  // Records in files.
  PipeWriter small;  // The others.
  int received = 0;
  while (true) {
    RecordHeader call;
    std::string_view payload;
    while (!in.Next(&call, &payload)) {
      // What is left to write (skipped calls) goes before the wait.
      if (small.Pending() && !small.Write(results_pipe.get())) return;
      if (!in.Fill(fd, /*wait=*/true)) return;
    }
    if (call.id == 0) return;
    const bool last = max_tasks > 0 && ++received >= max_tasks;
    if (!ring->Claim(call.seq)) {
      small.Add(call.id, kSkipped, {});
      if (last) (void)small.Write(results_pipe.get());
    } else {
      // Skipped calls are answered before a call that may take long.
      if (small.Pending() && !small.Write(results_pipe.get())) return;
      multiprocessing::internal::Message result;
      uint64_t tag = kResult;
      try {
        trace::Slice slice("pool", "call");
        trace::FlowEnd("pool", CallFlow(call.id));
        result = reinterpret_cast<CallEntry>(call.tag)(payload);
      } catch (...) {
        result = multiprocessing::internal::Message(
            threading::DescribeException(std::current_exception()));
        tag = kRaised;
      }
      if (result.fd() >= 0) {
        out.Add(call.id, tag, 0, result);
        // Written whole before `result` goes.
        if (!out.Flush(fd, /*wait=*/true)) return;
      } else {
        small.Add(call.id, tag, result.bytes());
        if (!small.Write(results_pipe.get())) return;
      }
    }
    if (last) return;
  }
}

// How a dead worker ended, as Python 3.15 words it in BrokenProcessPool.
std::string DescribeExit(pid_t pid, int exit_code) {
  if (exit_code >= 0) {
    return absl::StrCat("pid ", pid, ", exit code ", exit_code);
  }
  const char* name = ::sigabbrev_np(-exit_code);
  return absl::StrCat("pid ", pid, ", exit code ", exit_code,
                      ", killed by signal ", -exit_code,
                      name == nullptr ? "" : absl::StrCat(" (SIG", name, ")"));
}

}  // namespace

// Everything the executor shares with its manager thread.
class PoolCore {
 public:
  PoolCore(int max_workers, InitCall init, int max_tasks_per_child)
      : max_workers_(max_workers),
        init_(std::move(init)),
        max_tasks_per_child_(max_tasks_per_child) {
    start_error_ = Start();
    if (start_error_.ok()) return;
    // Python's constructor or submit() raises the OSError; here every
    // Submit() answers it. The workers that did start see EOF and exit.
    for (Worker& worker : workers_) {
      if (worker.process == nullptr) continue;
      worker.conn.Close();
      worker.process->Join();
    }
    workers_.clear();
    absl::MutexLock lock(&mu_);
    pids_.clear();
    rings_.clear();
  }

  ~PoolCore() {
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  int max_workers() const { return max_workers_; }

  std::vector<pid_t> WorkerPids() const {
    absl::MutexLock lock(&mu_);
    return pids_;
  }

  absl::Status Enqueue(std::unique_ptr<PendingCall> call) {
    if (!start_error_.ok()) return start_error_;
    bool wake;
    {
      absl::MutexLock lock(&mu_);
      if (broken_) {
        return MakeError(PythonError::kBrokenProcessPool, broken_reason_);
      }
      if (shutdown_) {
        return MakeError(PythonError::kRuntimeError,
                         "cannot schedule new futures after shutdown");
      }
      wake = queue_.empty();
      queue_.push_back(std::move(call));
    }
    // The manager drains the queue before it sleeps: only the first call of a
    // burst needs to wake it.
    if (wake) Wake();
    return absl::OkStatus();
  }

  // Python 3.14's _force_shutdown(): shuts down, then has the manager send
  // `signal` to every worker (the workers are the manager's own).
  void SignalWorkers(int signal) {
    Shutdown({.wait = false, .cancel_futures = true});
    {
      absl::MutexLock lock(&mu_);
      signal_ = signal;
    }
    Wake();
  }

  void Shutdown(ShutdownOptions options) {
    std::deque<std::unique_ptr<PendingCall>> cancelled;
    {
      absl::MutexLock lock(&mu_);
      shutdown_ = true;
      if (options.cancel_futures) {
        cancelled.swap(queue_);
        // The calls sent ahead that have not started will never start now;
        // the manager cancels their Futures when it wakes.
        for (const auto& ring : rings_) ring->StopAll();
        cancel_sent_ = true;
      }
    }
    for (const auto& call : cancelled) call->Cancel();
    Wake();
    if (!options.wait) return;
    if (current_manager == this) {
      // A done callback runs on the manager thread, which cannot wait for
      // itself: Python's join() raises here, and the Future logs it.
      throw std::runtime_error(
          "RuntimeError: cannot join current thread (Shutdown(wait=true) "
          "from a done callback of the same pool)");
    }
    absl::MutexLock lock(&join_mu_);
    if (manager_ != nullptr) manager_->Join();
  }

 private:
  // A call sent to a worker and not yet answered.
  struct Sent {
    uint64_t id;   // The pool's.
    uint64_t seq;  // In the worker's ClaimRing.
    std::unique_ptr<PendingCall> call;
  };
  struct Worker {
    std::unique_ptr<Process> process;  // Null once retired for good.
    Connection conn;
    // The read end of the worker's result pipe (non-blocking), and what came.
    multiprocessing::internal::UniqueFd results;
    RecordReader results_in{/*socket=*/false};
    std::shared_ptr<ClaimRing> ring;
    uint64_t next_seq = 1;  // The next call's in `ring`.
    RecordReader in;
    // Records not yet taken by the socket; their bytes are the payloads of
    // in_flight's calls.
    RecordWriter out;
    // Calls sent and not yet answered, in the order sent, with consecutive
    // seqs less than kWindow apart (answers through the pipe and the socket
    // may come out of order).
    std::deque<Sent> in_flight;
    int sent = 0;  // Calls ever sent, for max_tasks_per_child.
    // Answers ever read; the recent time per answer (0 until the first) and
    // since when the worker has had calls in hand (absl::GetCurrentTimeNanos).
    uint64_t answered = 0;
    int64_t ns_per_call = 0;
    int64_t busy_since_ns = 0;
  };

  // How many calls `worker` may hold unanswered (see kAheadBudgetNs).
  static size_t Window(const Worker& worker) {
    if (worker.ns_per_call <= 0) return kMinWindow;
    return static_cast<size_t>(std::clamp<int64_t>(
        kAheadBudgetNs / worker.ns_per_call, kMinWindow, kWindow));
  }

  void Wake() {
    const uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
  }

  // The fork server, the workers and the manager thread; the first OSError
  // (or RuntimeError for the thread) when one cannot start.
  absl::Status Start() {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) return ErrnoError(errno, "eventfd");
    if (absl::Status status = multiprocessing::StartForkServer();
        !status.ok()) {
      return status;
    }
    workers_.resize(static_cast<size_t>(max_workers_));
    for (Worker& worker : workers_) {
      if (absl::Status status = StartWorker(worker); !status.ok()) {
        return status;
      }
    }
    auto manager = std::make_unique<threading::Thread>(
        threading::ThreadOptions{.daemon = true}, [this] { Manage(); });
    if (absl::Status status = manager->Start(); !status.ok()) return status;
    manager_ = std::move(manager);
    return absl::OkStatus();
  }

  // Starts a worker in `worker` (replacing the one it held); on an error the
  // slot holds none.
  absl::Status StartWorker(Worker& worker) {
    const pid_t old_pid = worker.process == nullptr ? 0 : worker.process->pid();
    const std::shared_ptr<ClaimRing> old_ring = std::move(worker.ring);
    worker = Worker();
    {
      absl::MutexLock lock(&mu_);
      pids_.erase(std::remove(pids_.begin(), pids_.end(), old_pid),
                  pids_.end());
      rings_.erase(std::remove(rings_.begin(), rings_.end(), old_ring),
                   rings_.end());
    }
    multiprocessing::internal::UniqueFd claims_file;
    auto ring = ClaimRing::Create(&claims_file);
    if (!ring.ok()) return ring.status();
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
    multiprocessing::internal::UniqueFd result_pipe[2] = {
        multiprocessing::internal::UniqueFd(ends[0]),
        multiprocessing::internal::UniqueFd(ends[1])};
    if (::fcntl(ends[0], F_SETFL, O_NONBLOCK) != 0) {
      return ErrnoError(errno, "fcntl");
    }
    auto pipe = multiprocessing::internal::TryPipe();
    if (!pipe.ok()) return pipe.status();
    auto& [parent, child] = *pipe;
    auto process = std::make_unique<Process>(
        multiprocessing::ProcessOptions{.daemon = true}, &WorkerMain, child,
        max_tasks_per_child_, init_, PassedFd{claims_file.get()},
        PassedFd{result_pipe[1].get()});
    if (absl::Status status = process->Start(); !status.ok()) return status;
    worker.process = std::move(process);
    worker.conn = std::move(parent);
    worker.results = std::move(result_pipe[0]);
    worker.ring = *std::move(ring);
    absl::MutexLock lock(&mu_);
    pids_.push_back(worker.process->pid());
    rings_.push_back(worker.ring);
    return absl::OkStatus();
  }

  bool Retiring(const Worker& worker) const {
    return max_tasks_per_child_ > 0 && worker.sent >= max_tasks_per_child_;
  }

  // Writes what the socket takes now, never waiting: a worker busy writing
  // its result must not stop the manager from reading it. A worker that is
  // gone is left for its EOF to tell.
  void Flush(Worker& worker) {
    (void)worker.out.Flush(worker.conn.fileno(), /*wait=*/false);
  }

  // Fills the workers' windows from the queue: each call goes to the worker
  // with the fewest calls in hand, so that no worker idles while another
  // holds two. Calls are offered in their rings under the queue's lock, so
  // that Shutdown(cancel_futures) finds each one queued or offered.
  void Dispatch() {
    std::vector<size_t>& first_new = first_new_;
    first_new.clear();
    for (const Worker& w : workers_) first_new.push_back(w.in_flight.size());
    bool any = false;
    {
      absl::MutexLock lock(&mu_);
      while (!queue_.empty()) {
        Worker* best = nullptr;
        const bool chunk = queue_.front()->chunk();
        for (Worker& w : workers_) {
          if (w.process == nullptr || Retiring(w) ||
              (chunk && w.in_flight.size() >= kChunkWindow) ||
              (!w.in_flight.empty() &&
               w.next_seq - w.in_flight.front().seq >= Window(w))) {
            continue;
          }
          if (best == nullptr || w.in_flight.size() < best->in_flight.size()) {
            best = &w;
          }
        }
        if (best == nullptr) break;
        const uint64_t seq = best->next_seq++;
        best->ring->Offer(seq);
        best->in_flight.push_back({next_id_++, seq, std::move(queue_.front())});
        queue_.pop_front();
        ++best->sent;
        any = true;
      }
    }
    if (!any) return;
    for (size_t i = 0; i < workers_.size(); ++i) {
      Worker& w = workers_[i];
      if (w.in_flight.size() == first_new[i]) continue;
      if (first_new[i] == 0) w.busy_since_ns = absl::GetCurrentTimeNanos();
      for (size_t k = first_new[i]; k < w.in_flight.size(); ++k) {
        Sent& sent = w.in_flight[k];
        if (sent.call->chunk()) {
          // Started now: claimed for the worker, so that nothing stops it.
          if (sent.call->Start()) {
            w.ring->Claim(sent.seq);
          } else {
            w.ring->Stop(sent.seq);
          }
        } else if (!sent.call->Attach(
                       std::make_shared<ClaimHook>(w.ring, sent.seq))) {
          // Every Future cancelled: the worker skips it (so that the calls in
          // flight keep consecutive seqs).
          w.ring->Stop(sent.seq);
        }
        if (trace::Enabled()) {
          trace::Slice slice("pool", "send");
          trace::FlowBegin("pool", CallFlow(sent.id));
        }
        w.out.Add(sent.id, reinterpret_cast<uint64_t>(sent.call->entry()),
                  sent.seq, sent.call->payload());
      }
      Flush(w);
    }
    if (trace::Enabled()) TraceInFlight();
  }

  // Records the calls sent to workers and not yet answered (a counter).
  void TraceInFlight() const {
    size_t in_flight = 0;
    for (const Worker& w : workers_) in_flight += w.in_flight.size();
    trace::Counter("pool", "process pool calls in flight",
                   static_cast<double>(in_flight));
  }

  // Completes the Futures of the results `worker` has sent so far. False once
  // the worker has closed its end of either stream (it is exiting).
  bool Collect(Worker& worker) {
    const uint64_t answered = worker.answered;
    const bool pipe_open =
        Drain(worker, worker.results_in, worker.results.get());
    const bool open = Drain(worker, worker.in, worker.conn.fileno());
    NoteAnswers(worker, worker.answered - answered);
    return open && pipe_open;
  }

  // Updates the worker's recent time per call with the `n` answers just read
  // (several at once, when the manager was slower than the worker).
  static void NoteAnswers(Worker& worker, uint64_t n) {
    if (n == 0) return;
    const int64_t now = absl::GetCurrentTimeNanos();
    const int64_t per_call = std::max<int64_t>(
        1, (now - worker.busy_since_ns) / static_cast<int64_t>(n));
    worker.ns_per_call = worker.ns_per_call == 0
                             ? per_call
                             : (worker.ns_per_call * 7 + per_call) / 8;
    worker.busy_since_ns = now;
  }

  // Answers the records `in` holds and reads from `fd` until it would wait.
  // False at EOF or on an error.
  bool Drain(Worker& worker, RecordReader& in, int fd) {
    while (true) {
      RecordHeader header;
      std::string_view bytes;
      while (in.Next(&header, &bytes)) Answer(worker, header, bytes);
      if (!in.Fill(fd, /*wait=*/false)) return errno == EAGAIN;
    }
  }

  // Completes the call a worker answered with `header` and `bytes`.
  void Answer(Worker& worker, const RecordHeader& header,
              std::string_view bytes) {
    // Answers come in the order sent but for those in files.
    auto it = worker.in_flight.begin();
    while (it != worker.in_flight.end() && it->id != header.id) ++it;
    if (it == worker.in_flight.end()) return;
    ++worker.answered;
    std::unique_ptr<PendingCall> call = std::move(it->call);
    worker.in_flight.erase(it);
    if (header.tag == kSkipped) {
      call->Cancel();
      return;
    }
    call->Start();
    if (header.tag == kResult) {
      call->Finish(bytes);
    } else {
      call->Fail(std::make_exception_ptr(RemoteError(std::string(bytes))));
    }
  }

  // The worker in `slot` has exited. A retiring worker with nothing in hand is
  // replaced; any other exit breaks the pool (false).
  bool Exited(Worker& worker) {
    worker.process->Join();
    // What it wrote before it ended is all in the pipe now.
    (void)Collect(worker);
    const int exit_code = worker.process->ExitCode().value_or(0);
    if (Retiring(worker) && worker.in_flight.empty() && exit_code == 0) {
      bool more;
      {
        absl::MutexLock lock(&mu_);
        more = !shutdown_ || !queue_.empty();
      }
      if (more) {
        const pid_t pid = worker.process->pid();
        if (absl::Status status = StartWorker(worker); !status.ok()) {
          Break(absl::StrCat("A worker (pid ", pid,
                             ") that reached max_tasks_per_child could not be "
                             "replaced: ",
                             status.message()));
          return false;
        }
      } else {
        worker.process = nullptr;
        worker.conn.Close();
      }
      return true;
    }
    Break(absl::StrCat(
        "A process in the process pool was terminated abruptly while the "
        "future was running or pending (",
        DescribeExit(worker.process->pid(), exit_code), ")."));
    return false;
  }

  // A worker ended unexpectedly: Python's "terminated abruptly". Results the
  // other workers have already sent are kept; every other call in flight or
  // queued fails; the other workers are killed.
  void Break(const std::string& reason) {
    for (Worker& w : workers_) {
      if (w.process != nullptr) Collect(w);
    }
    std::deque<std::unique_ptr<PendingCall>> queued;
    {
      absl::MutexLock lock(&mu_);
      broken_ = true;
      broken_reason_ = reason;
      queued.swap(queue_);
    }
    // One exception per call, moved into its Futures (see PendingCall::Fail).
    auto error = [&reason] {
      return std::make_exception_ptr(BrokenProcessPool(reason));
    };
    for (Worker& w : workers_) {
      w.out.Clear();  // It points into the calls' payloads.
      // Python fails every call of the broken pool, started or not; the
      // claim decides between that and a Cancel() that came first.
      for (Sent& sent : w.in_flight) {
        if (w.ring->Claim(sent.seq)) {
          sent.call->Start();
          sent.call->Fail(error());
        } else {
          sent.call->Cancel();
        }
      }
      w.in_flight.clear();
      if (w.process != nullptr) w.process->Kill();
    }
    for (auto& call : queued) {
      if (call->Start()) call->Fail(error());
    }
  }

  // Shutdown(cancel_futures): cancels the Futures of the calls sent ahead
  // that have not started (stopping any that Shutdown() did not see).
  void CancelSent() {
    for (Worker& w : workers_) {
      for (Sent& sent : w.in_flight) {
        if (w.ring->Stop(sent.seq)) sent.call->Cancel();
      }
    }
  }

  bool Idle() const {
    for (const Worker& w : workers_) {
      if (!w.in_flight.empty()) return false;
    }
    absl::MutexLock lock(&mu_);
    return queue_.empty();
  }

  void Manage() {
    current_manager = this;
    std::vector<pollfd> fds;
    bool broken = false;
    while (!broken) {
      Dispatch();
      bool shutdown;
      {
        absl::MutexLock lock(&mu_);
        shutdown = shutdown_;
      }
      if (shutdown && Idle()) break;
      fds.assign(1, {.fd = wake_fd_, .events = POLLIN, .revents = 0});
      for (const Worker& w : workers_) {
        const short events = POLLIN | (w.out.Pending() ? POLLOUT : 0);
        fds.push_back({.fd = w.process == nullptr ? -1 : w.conn.fileno(),
                       .events = events,
                       .revents = 0});
        fds.push_back({.fd = w.process == nullptr ? -1 : w.results.get(),
                       .events = POLLIN,
                       .revents = 0});
      }
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;  // EINTR
      if (fds[0].revents != 0) {
        uint64_t count;
        (void)!::read(wake_fd_, &count, sizeof(count));
        int signal;
        bool cancel_sent;
        {
          absl::MutexLock lock(&mu_);
          signal = std::exchange(signal_, 0);
          cancel_sent = std::exchange(cancel_sent_, false);
        }
        if (cancel_sent) CancelSent();
        if (signal != 0) {
          for (Worker& w : workers_) {
            if (w.process == nullptr) continue;
            if (signal == SIGKILL) {
              w.process->Kill();
            } else {
              w.process->Terminate();
            }
          }
        }
      }
      for (size_t i = 0; i < workers_.size() && !broken; ++i) {
        Worker& w = workers_[i];
        const short socket = fds[2 * i + 1].revents;
        const short pipe = fds[2 * i + 2].revents;
        if ((socket | pipe) == 0 || w.process == nullptr) continue;
        if ((socket & POLLOUT) != 0) Flush(w);
        if (((socket & ~POLLOUT) != 0 || pipe != 0) && !Collect(w)) {
          broken = !Exited(w);
        }
      }
    }
    // Idle workers leave on an exit record (killed ones have left); collect
    // them all.
    for (Worker& w : workers_) {
      if (w.process == nullptr) continue;
      if (!broken) {
        w.out.Add(0, 0, 0, multiprocessing::internal::Message());
        (void)w.out.Flush(w.conn.fileno(), /*wait=*/true);
      }
      w.process->Join();
    }
  }

  // The pool whose manager this thread is, if any.
  static thread_local const PoolCore* current_manager;

  const int max_workers_;
  const InitCall init_;
  const int max_tasks_per_child_;
  int wake_fd_ = -1;  // Set by the constructor.

  // The manager thread's own.
  std::vector<Worker> workers_;
  // Dispatch()'s, kept for its memory.
  std::vector<size_t> first_new_;
  // Call ids, apart from every other pool's in this process (so are the
  // timeline's flows, CallFlow()).
  uint64_t next_id_ = FirstCallId();
  std::unique_ptr<threading::Thread> manager_;  // Null when it did not start.
  // Why the pool could not start (set by the constructor); ok when it did.
  absl::Status start_error_;

  absl::Mutex join_mu_;
  mutable absl::Mutex mu_;
  std::deque<std::unique_ptr<PendingCall>> queue_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  int signal_ ABSL_GUARDED_BY(mu_) = 0;  // For the workers, from SignalWorkers.
  // Shutdown(cancel_futures) asks the manager to cancel the calls sent ahead.
  bool cancel_sent_ ABSL_GUARDED_BY(mu_) = false;
  std::string broken_reason_ ABSL_GUARDED_BY(mu_);
  std::vector<pid_t> pids_ ABSL_GUARDED_BY(mu_);
  // The live workers' rings, for Shutdown(cancel_futures).
  std::vector<std::shared_ptr<ClaimRing>> rings_ ABSL_GUARDED_BY(mu_);
};

thread_local const PoolCore* PoolCore::current_manager = nullptr;

}  // namespace internal

ProcessPoolExecutor::ProcessPoolExecutor(ProcessPoolOptions options) {
  const int max_workers =
      options.max_workers.value_or(multiprocessing::ProcessCpuCount());
  if (max_workers <= 0) {
    pyconc::internal::Misuse("ValueError",
                             "max_workers must be greater than 0");
  }
  core_ = std::make_shared<internal::PoolCore>(
      max_workers, options.initializer.call(), options.max_tasks_per_child);
}

ProcessPoolExecutor::~ProcessPoolExecutor() { Shutdown({.wait = true}); }

void ProcessPoolExecutor::Shutdown(ShutdownOptions options) {
  core_->Shutdown(options);
}

void ProcessPoolExecutor::TerminateWorkers() { core_->SignalWorkers(SIGTERM); }

void ProcessPoolExecutor::KillWorkers() { core_->SignalWorkers(SIGKILL); }

int ProcessPoolExecutor::max_workers() const { return core_->max_workers(); }

std::vector<pid_t> ProcessPoolExecutor::WorkerPids() const {
  return core_->WorkerPids();
}

absl::Status ProcessPoolExecutor::Enqueue(
    std::unique_ptr<internal::PendingCall> call) {
  return core_->Enqueue(std::move(call));
}

}  // namespace pyconc::futures
