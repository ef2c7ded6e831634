#include "multiprocessing/shared/internal/segment.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <system_error>

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

}  // namespace pyconc::multiprocessing::internal
