#include "multiprocessing/process/queue.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <set>
#include <string>
#include <system_error>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/misuse.h"
#include "multiprocessing/process/internal/fork_server.h"
#include "multiprocessing/process/internal/io.h"

namespace pyconc::multiprocessing::internal {

// What every process holding the queue shares, in one page of memfd memory.
struct QueueCore::Shared {
  sem_t slots;                // Free places, when maxsize > 0.
  sem_t write_lock;           // Held while one frame is written...
  sem_t read_lock;            // ...and while one frame is read.
  std::atomic<int64_t> size;  // Items put and not yet got (approximate).
  // JoinableQueue: items put and not yet TaskDone(); Join() waits on
  // `all_done` for it to reach 0.
  std::atomic<int64_t> unfinished;
  pthread_mutex_t join_mu;
  pthread_cond_t all_done;
};

namespace {

// Bytes in flight per socket that the kernel may keep (it caps this at
// net.core.wmem_max silently); more only means fewer feeder threads.
constexpr int kSocketBuffer = 4 << 20;

[[noreturn]] void Fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Waits on a process-shared semaphore until `deadline`; answers whether it
// was acquired.
bool Acquire(sem_t* semaphore, absl::Time deadline) {
  while (true) {
    int result;
    if (deadline == absl::InfiniteFuture()) {
      result = ::sem_wait(semaphore);
    } else if (deadline <= absl::Now()) {
      result = ::sem_trywait(semaphore);
    } else {
      // sem_clockwait takes an absolute CLOCK_MONOTONIC time.
      timespec now;
      ::clock_gettime(CLOCK_MONOTONIC, &now);
      const timespec until =
          absl::ToTimespec(absl::TimeFromTimespec(now) - absl::UnixEpoch() +
                           (deadline - absl::Now()));
      result = ::sem_clockwait(semaphore, CLOCK_MONOTONIC, &until);
    }
    if (result == 0) return true;
    if (errno != EINTR) return false;
  }
}

// The queues of this process whose feeder runs, flushed at exit.
ABSL_CONST_INIT absl::Mutex feeding_mu(absl::kConstInit);
std::set<QueueCore*>& Feeding() ABSL_EXCLUSIVE_LOCKS_REQUIRED(feeding_mu) {
  static std::set<QueueCore*>* const feeding = new std::set<QueueCore*>;
  return *feeding;
}

void FlushAtExit() {
  absl::MutexLock lock(&feeding_mu);
  for (QueueCore* core : Feeding()) core->Flush();
}

}  // namespace

QueueCore::QueueCore(int maxsize) : maxsize_(maxsize > 0 ? maxsize : 0) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    Fail("socketpair");
  }
  put_fd_.reset(fds[0]);
  get_fd_.reset(fds[1]);
  ::shutdown(put_fd_.get(), SHUT_RD);
  ::shutdown(get_fd_.get(), SHUT_WR);
  ::setsockopt(put_fd_.get(), SOL_SOCKET, SO_SNDBUF, &kSocketBuffer,
               sizeof(kSocketBuffer));
  shared_fd_.reset(::memfd_create("pyconc-queue", MFD_CLOEXEC));
  if (!shared_fd_.valid()) Fail("memfd_create");
  if (::ftruncate(shared_fd_.get(), sizeof(Shared)) != 0) Fail("ftruncate");
  MapShared();
  if (::sem_init(&shared_->slots, /*pshared=*/1,
                 static_cast<unsigned>(maxsize_)) != 0 ||
      ::sem_init(&shared_->write_lock, /*pshared=*/1, 1) != 0 ||
      ::sem_init(&shared_->read_lock, /*pshared=*/1, 1) != 0) {
    Fail("sem_init");
  }
  new (&shared_->size) std::atomic<int64_t>(0);
  new (&shared_->unfinished) std::atomic<int64_t>(0);
  pthread_mutexattr_t mutex_attributes;
  ::pthread_mutexattr_init(&mutex_attributes);
  ::pthread_mutexattr_setpshared(&mutex_attributes, PTHREAD_PROCESS_SHARED);
  ::pthread_mutex_init(&shared_->join_mu, &mutex_attributes);
  ::pthread_mutexattr_destroy(&mutex_attributes);
  pthread_condattr_t cond_attributes;
  ::pthread_condattr_init(&cond_attributes);
  ::pthread_condattr_setpshared(&cond_attributes, PTHREAD_PROCESS_SHARED);
  ::pthread_cond_init(&shared_->all_done, &cond_attributes);
  ::pthread_condattr_destroy(&cond_attributes);
}

QueueCore::~QueueCore() { Close(); }

void QueueCore::MapShared() {
  void* page = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE,
                      MAP_SHARED, shared_fd_.get(), 0);
  if (page == MAP_FAILED) Fail("mmap");
  shared_ = static_cast<Shared*>(page);
}

void QueueCore::CheckOpen() const {
  if (shared_ == nullptr) {
    pyconc::internal::Misuse("ValueError", "Queue is closed");
  }
}

void QueueCore::Flush() {
  absl::MutexLock lock(&feed_mu_);
  feed_mu_.Await(absl::Condition(this, &QueueCore::Flushed));
}

void QueueCore::Close() {
  if (shared_ == nullptr) return;
  std::thread feeder;
  {
    absl::MutexLock lock(&feed_mu_);
    closing_ = true;
    feeder = std::move(feeder_);
  }
  if (feeder.joinable()) {
    feeder.join();
    absl::MutexLock lock(&feeding_mu);
    Feeding().erase(this);
  }
  ::munmap(shared_, sizeof(Shared));
  shared_ = nullptr;
  put_fd_.reset();
  get_fd_.reset();
  shared_fd_.reset();
}

absl::Status QueueCore::Put(std::string bytes, absl::Duration timeout) {
  CheckOpen();
  const absl::Time deadline = absl::Now() + timeout;
  if (maxsize_ > 0 && !Acquire(&shared_->slots, deadline)) {
    return MakeError(PythonError::kQueueFull);
  }
  // Counted before it is visible, so that QSize() never goes below zero.
  shared_->size.fetch_add(1, std::memory_order_relaxed);
  shared_->unfinished.fetch_add(1, std::memory_order_relaxed);
  const uint64_t size = bytes.size();
  {
    absl::MutexLock lock(&feed_mu_);
    // Written directly when nothing of this process's waits before it and
    // the kernel takes the whole frame now: no thread, no copy.
    if (pending_.empty() && ::sem_trywait(&shared_->write_lock) == 0) {
      iovec parts[2] = {{const_cast<uint64_t*>(&size), sizeof(size)},
                        {bytes.data(), bytes.size()}};
      msghdr message = {};
      message.msg_iov = parts;
      message.msg_iovlen = 2;
      ssize_t n;
      do {
        n = ::sendmsg(put_fd_.get(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
      } while (n < 0 && errno == EINTR);
      const size_t total = sizeof(size) + bytes.size();
      if (n == static_cast<ssize_t>(total)) {
        ::sem_post(&shared_->write_lock);
        return absl::OkStatus();
      }
      if (n < 0 && errno != EAGAIN) {
        const int error = errno;
        ::sem_post(&shared_->write_lock);
        shared_->size.fetch_sub(1, std::memory_order_relaxed);
        shared_->unfinished.fetch_sub(1, std::memory_order_relaxed);
        if (maxsize_ > 0) ::sem_post(&shared_->slots);
        return ErrnoError(error, "send");
      }
      // Part of the frame (or none of it) went: the feeder writes the rest,
      // holding the write lock meanwhile.
      const size_t done = n < 0 ? 0 : static_cast<size_t>(n);
      std::string rest;
      if (done < sizeof(size)) {
        rest.assign(reinterpret_cast<const char*>(&size) + done,
                    sizeof(size) - done);
        rest.append(bytes);
      } else {
        rest = std::move(bytes);
        rest.erase(0, done - sizeof(size));
      }
      pending_.push_back(std::move(rest));
      front_locked_ = true;
    } else {
      std::string frame(reinterpret_cast<const char*>(&size), sizeof(size));
      frame.append(bytes);
      pending_.push_back(std::move(frame));
    }
    if (feeder_.joinable()) return absl::OkStatus();
  }
  // The first time this process needs its feeder. A Process started later
  // needs the fork server, which can start only while there is one thread.
  StartForkServerIfAlone();
  bool started = false;
  {
    absl::MutexLock lock(&feed_mu_);
    if (!feeder_.joinable() && !closing_) {
      feeder_ = std::thread([this] { Feed(); });
      started = true;
    }
  }
  // Registered without feed_mu_ held: FlushAtExit takes the two the other
  // way round.
  if (started) {
    absl::MutexLock lock(&feeding_mu);
    Feeding().insert(this);
    static const bool at_exit = std::atexit(&FlushAtExit) == 0;
    (void)at_exit;
  }
  return absl::OkStatus();
}

void QueueCore::Feed() {
  while (true) {
    const std::string* frame;
    bool locked;
    {
      absl::MutexLock lock(&feed_mu_);
      feed_mu_.Await(absl::Condition(this, &QueueCore::FeedReady));
      if (pending_.empty()) return;  // Closing, and everything is written.
      // The front stays in place (a deque keeps references) until written.
      frame = &pending_.front();
      locked = front_locked_;
    }
    if (!locked) Acquire(&shared_->write_lock, absl::InfiniteFuture());
    // A failure here means every reader is gone: the item is lost, as in
    // Python when nobody will read the pipe any more.
    (void)WriteAll(put_fd_.get(), frame->data(), frame->size());
    ::sem_post(&shared_->write_lock);
    absl::MutexLock lock(&feed_mu_);
    pending_.pop_front();
    front_locked_ = false;
  }
}

absl::StatusOr<std::string> QueueCore::Get(absl::Duration timeout) {
  CheckOpen();
  const absl::Time deadline = absl::Now() + timeout;
  if (!Acquire(&shared_->read_lock, deadline)) {
    return MakeError(PythonError::kQueueEmpty);
  }
  absl::Status failed;
  std::string bytes;
  uint64_t size = 0;
  if (!WaitReadable(get_fd_.get(), deadline)) {
    failed = MakeError(PythonError::kQueueEmpty);
  } else if (!ReadAll(get_fd_.get(), &size, sizeof(size)) ||
             !ReadGrowing(get_fd_.get(), size, &bytes)) {
    failed = errno != 0 ? ErrnoError(errno, "recv")
                        : MakeError(PythonError::kEOFError);
  }
  ::sem_post(&shared_->read_lock);
  if (!failed.ok()) return failed;
  shared_->size.fetch_sub(1, std::memory_order_relaxed);
  if (maxsize_ > 0) ::sem_post(&shared_->slots);
  return bytes;
}

void QueueCore::TaskDone() {
  CheckOpen();
  if (shared_->unfinished.fetch_sub(1, std::memory_order_acq_rel) <= 0) {
    shared_->unfinished.fetch_add(1, std::memory_order_relaxed);
    pyconc::internal::Misuse("ValueError", "task_done() called too many times");
  }
  ::pthread_mutex_lock(&shared_->join_mu);
  if (shared_->unfinished.load(std::memory_order_acquire) == 0) {
    ::pthread_cond_broadcast(&shared_->all_done);
  }
  ::pthread_mutex_unlock(&shared_->join_mu);
}

void QueueCore::Join() {
  CheckOpen();
  ::pthread_mutex_lock(&shared_->join_mu);
  while (shared_->unfinished.load(std::memory_order_acquire) != 0) {
    ::pthread_cond_wait(&shared_->all_done, &shared_->join_mu);
  }
  ::pthread_mutex_unlock(&shared_->join_mu);
}

int QueueCore::QSize() const {
  CheckOpen();
  return static_cast<int>(shared_->size.load(std::memory_order_relaxed));
}

bool QueueCore::Full() const {
  CheckOpen();
  if (maxsize_ == 0) return false;
  int free = 0;
  ::sem_getvalue(&shared_->slots, &free);
  return free == 0;
}

}  // namespace pyconc::multiprocessing::internal
