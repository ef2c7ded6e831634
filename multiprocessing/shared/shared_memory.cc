#include "multiprocessing/shared/shared_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/errors.h"
#include "cereal/details/helpers.hpp"
#include "multiprocessing/process/internal/serialize.h"

namespace pyconc::multiprocessing {
namespace {

// The object's path for shm_open, and how Python quotes it in errors.
std::string PathOf(std::string_view name) { return absl::StrCat("/", name); }
std::string Quoted(std::string_view name) {
  return absl::StrCat("'/", name, "'");
}

// Python's _make_filename(): "psm_" and 8 random hex digits.
std::string FreshName() {
  uint32_t bits = 0;
  if (::getrandom(&bits, sizeof(bits), 0) != sizeof(bits)) {
    bits = static_cast<uint32_t>(::getpid()) * 2654435761u ^
           static_cast<uint32_t>(reinterpret_cast<uintptr_t>(&bits));
  }
  return absl::StrFormat("psm_%08x", bits);
}

// Maps all of the object open at `fd`, of `size` bytes.
absl::StatusOr<void*> MapAll(int fd, size_t size, std::string_view name) {
  void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) return ErrnoError(errno, Quoted(name));
  return data;
}

}  // namespace

absl::StatusOr<SharedMemory> SharedMemory::Create(size_t size,
                                                  std::string_view name) {
  if (size == 0) {
    return MakeError(PythonError::kValueError,
                     "'size' must be a positive number different from zero");
  }
  const bool fresh = name.empty();
  for (;;) {
    const std::string chosen = fresh ? FreshName() : std::string(name);
    internal::UniqueFd fd(::shm_open(
        PathOf(chosen).c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600));
    if (!fd.valid()) {
      // A fresh name that happens to be taken: draw another, as Python does.
      if (fresh && errno == EEXIST) continue;
      return ErrnoError(errno, Quoted(chosen));
    }
    absl::StatusOr<void*> data = absl::InternalError("unset");
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
      data = ErrnoError(errno, Quoted(chosen));
    } else {
      data = MapAll(fd.get(), size, chosen);
    }
    if (!data.ok()) {
      ::shm_unlink(PathOf(chosen).c_str());
      return data.status();
    }
    return SharedMemory(chosen, *data, size);
  }
}

absl::StatusOr<SharedMemory> SharedMemory::Attach(std::string_view name) {
  if (name.empty()) {
    return MakeError(PythonError::kValueError,
                     "'name' can only be None if create=True");
  }
  const std::string path = PathOf(name);
  internal::UniqueFd fd(::shm_open(path.c_str(), O_RDWR | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoError(errno, Quoted(name));
  struct stat status;
  if (::fstat(fd.get(), &status) != 0) return ErrnoError(errno, Quoted(name));
  if (status.st_size <= 0) {
    return MakeError(PythonError::kValueError, "cannot mmap an empty file");
  }
  const size_t size = static_cast<size_t>(status.st_size);
  absl::StatusOr<void*> data = MapAll(fd.get(), size, name);
  if (!data.ok()) return data.status();
  return SharedMemory(std::string(name), *data, size);
}

SharedMemory& SharedMemory::operator=(SharedMemory&& other) noexcept {
  if (this != &other) {
    Close();
    name_ = std::move(other.name_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void SharedMemory::Close() {
  if (data_ == nullptr) return;
  ::munmap(data_, size_);
  data_ = nullptr;
}

absl::Status SharedMemory::Unlink() {
  if (::shm_unlink(PathOf(name_).c_str()) != 0) {
    return ErrnoError(errno, Quoted(name_));
  }
  return absl::OkStatus();
}

void SharedMemory::LoadName(std::string_view name) {
  absl::StatusOr<SharedMemory> attached = Attach(name);
  if (!attached.ok())
    throw cereal::Exception(std::string(attached.status().message()));
  *this = *std::move(attached);
}

}  // namespace pyconc::multiprocessing
