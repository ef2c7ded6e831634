#include "multiprocessing/shared/internal/segment.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <ctime>
#include <system_error>

#include "absl/time/clock.h"

namespace pyconc::multiprocessing::internal {
namespace {

[[noreturn]] void Fail(int error, const char* what) {
  throw std::system_error(error, std::generic_category(), what);
}

}  // namespace

std::shared_ptr<const Segment> Segment::Create(size_t size) {
  UniqueFd fd(::memfd_create("pyconc-shared", MFD_CLOEXEC));
  if (!fd.valid()) Fail(errno, "memfd_create");
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    Fail(errno, "ftruncate");
  }
  return Map(std::move(fd));
}

std::shared_ptr<const Segment> Segment::Map(UniqueFd fd) {
  struct stat status;
  if (::fstat(fd.get(), &status) != 0) Fail(errno, "fstat");
  if (!S_ISREG(status.st_mode) || status.st_size <= 0) {
    Fail(EINVAL, "not a shared segment");
  }
  const size_t size = static_cast<size_t>(status.st_size);
  void* data =
      ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (data == MAP_FAILED) Fail(errno, "mmap");
  return std::shared_ptr<const Segment>(new Segment(std::move(fd), data, size));
}

Segment::~Segment() { ::munmap(data_, size_); }

bool FutexWait(const std::atomic<uint32_t>* word, uint32_t expected,
               absl::Time deadline) {
  timespec relative;
  timespec* timeout = nullptr;
  if (deadline != absl::InfiniteFuture()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    relative = absl::ToTimespec(left);
    timeout = &relative;
  }
  // The kernel compares the word with `expected` atomically with going to
  // sleep, so a wake between the caller's check and this call is not lost.
  const long result =
      ::syscall(SYS_futex, const_cast<std::atomic<uint32_t>*>(word), FUTEX_WAIT,
                expected, timeout, nullptr, 0);
  return result == 0 || errno != ETIMEDOUT;
}

void FutexWake(const std::atomic<uint32_t>* word, int count) {
  ::syscall(SYS_futex, const_cast<std::atomic<uint32_t>*>(word), FUTEX_WAKE,
            count, nullptr, nullptr, 0);
}

}  // namespace pyconc::multiprocessing::internal
