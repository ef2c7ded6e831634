#include "multiprocessing/process/queue.h"

#include <errno.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <system_error>

#include "absl/time/clock.h"
#include "base/misuse.h"
#include "multiprocessing/process/io.h"

namespace pyconc::multiprocessing::internal {

// What every process holding the queue shares, in one page of memfd memory.
struct QueueCore::Shared {
  sem_t slots;                // Free places, when maxsize > 0.
  std::atomic<int64_t> size;  // Items put and not yet got (approximate).
};

namespace {

// The kernel's limit on bytes in flight per socket (net.core.wmem_max here;
// the kernel caps it silently otherwise).
constexpr int kSocketBuffer = 4 << 20;

[[noreturn]] void Fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Waits on a process-shared semaphore until `deadline`; answers whether it
// was acquired.
bool AcquireSlot(sem_t* semaphore, absl::Time deadline) {
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

}  // namespace

QueueCore::QueueCore(int maxsize) : maxsize_(maxsize > 0 ? maxsize : 0) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    Fail("socketpair");
  }
  put_fd_.reset(fds[0]);
  get_fd_.reset(fds[1]);
  ::setsockopt(put_fd_.get(), SOL_SOCKET, SO_SNDBUF, &kSocketBuffer,
               sizeof(kSocketBuffer));
  shared_fd_.reset(::memfd_create("pyconc-queue", MFD_CLOEXEC));
  if (!shared_fd_.valid()) Fail("memfd_create");
  if (::ftruncate(shared_fd_.get(), sizeof(Shared)) != 0) Fail("ftruncate");
  MapShared();
  if (::sem_init(&shared_->slots, /*pshared=*/1,
                 static_cast<unsigned>(maxsize_)) != 0) {
    Fail("sem_init");
  }
  new (&shared_->size) std::atomic<int64_t>(0);
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

void QueueCore::Close() {
  if (shared_ == nullptr) return;
  ::munmap(shared_, sizeof(Shared));
  shared_ = nullptr;
  put_fd_.reset();
  get_fd_.reset();
  shared_fd_.reset();
}

absl::Status QueueCore::Put(std::string_view bytes, absl::Duration timeout) {
  CheckOpen();
  if (bytes.size() > kMaxItemBytes) {
    return MakeError(
        PythonError::kValueError,
        absl::StrCat("an item of ", bytes.size(),
                     " bytes is over the queue's limit of ", kMaxItemBytes));
  }
  const absl::Time deadline = absl::Now() + timeout;
  if (maxsize_ > 0 && !AcquireSlot(&shared_->slots, deadline)) {
    return MakeError(PythonError::kQueueFull);
  }
  // Counted before it is visible, so that QSize() never goes below zero.
  shared_->size.fetch_add(1, std::memory_order_relaxed);
  while (true) {
    const ssize_t n = ::send(put_fd_.get(), bytes.data(), bytes.size(),
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return absl::OkStatus();
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == ENOBUFS) &&
        WaitWritable(put_fd_.get(), deadline)) {
      continue;
    }
    const int error = errno;
    shared_->size.fetch_sub(1, std::memory_order_relaxed);
    if (maxsize_ > 0) ::sem_post(&shared_->slots);
    if (error == EAGAIN || error == ENOBUFS) {
      return MakeError(PythonError::kQueueFull);
    }
    return ErrnoError(error, "send");
  }
}

absl::StatusOr<std::string> QueueCore::Get(absl::Duration timeout) {
  CheckOpen();
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    {
      absl::MutexLock lock(&get_mu_);
      if (buffer_.size() < kMaxItemBytes) buffer_.resize(kMaxItemBytes);
      const ssize_t n =
          ::recv(get_fd_.get(), buffer_.data(), buffer_.size(), MSG_DONTWAIT);
      if (n >= 0) {
        shared_->size.fetch_sub(1, std::memory_order_relaxed);
        if (maxsize_ > 0) ::sem_post(&shared_->slots);
        return std::string(buffer_.data(), static_cast<size_t>(n));
      }
      if (errno != EAGAIN && errno != EINTR) {
        return ErrnoError(errno, "recv");
      }
    }
    // Nothing yet, or another consumer was quicker: wait for the next record.
    if (!WaitReadable(get_fd_.get(), deadline)) {
      return MakeError(PythonError::kQueueEmpty);
    }
  }
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
