// Segment: the memory every cross-process object in //multiprocessing/shared
// stands on. (Internal.)
//
// A Segment is memory that several processes map at once: an anonymous memfd,
// mapped MAP_SHARED, that crosses to a child Process as its descriptor (the
// fork server passes it with SCM_RIGHTS) and is mapped again there. It lives
// as long as some process holds the descriptor or a mapping, so nothing is
// left behind when every process has ended, however they ended. This is how
// Python's Value and Array travel under the forkserver start method (their
// mmap arena's descriptor); Python's locks travel as a named POSIX semaphore,
// which a crash can leave behind, so pyconc's use a segment too. Named
// segments, which outlive their processes, are SharedMemory's
// (shared_memory.h).
//
// The objects sleep on words in such memory with base/futex.h's FutexWait
// and FutexWake in FutexScope::kShared, so that a wake in one process reaches
// a waiter in another.
//
// Thread-safety: a Segment is immutable once made. Fork-safety: nothing here
// forks.

#ifndef PYCONC_MULTIPROCESSING_SHARED_INTERNAL_SEGMENT_H_
#define PYCONC_MULTIPROCESSING_SHARED_INTERNAL_SEGMENT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/time/time.h"
#include "multiprocessing/process/internal/serialize.h"

namespace pyconc::multiprocessing::internal {

class Segment {
 public:
  // A new zero-filled segment of `size` bytes (at least one page is mapped).
  // Throws std::system_error when the kernel refuses (out of descriptors or
  // memory), as Python's constructors raise OSError.
  static std::shared_ptr<const Segment> Create(size_t size);
  // The segment whose descriptor is `fd`, mapped here whole. Throws
  // std::system_error as Create() does, and for a descriptor that is not a
  // segment.
  static std::shared_ptr<const Segment> Map(UniqueFd fd);

  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;
  ~Segment();

  // The start of the mapping (page-aligned) and its size.
  void* data() const { return data_; }
  size_t size() const { return size_; }

  // For cereal: the descriptor travels (beside the bytes, see serialize.h);
  // Load() maps it again in the receiving process.
  template <typename Archive>
  void Save(Archive& archive) const {
    archive(ExportFd(fd_.get()));
  }
  template <typename Archive>
  static std::shared_ptr<const Segment> Load(Archive& archive) {
    int index = -1;
    archive(index);
    return Map(ImportFd(index));
  }

 private:
  Segment(UniqueFd fd, void* data, size_t size)
      : fd_(std::move(fd)), data_(data), size_(size) {}

  const UniqueFd fd_;
  void* const data_;
  const size_t size_;
};

// The object of type T at the start of `segment`: a segment made for one
// control block.
template <typename T>
T* ObjectIn(const Segment& segment) {
  return static_cast<T*>(segment.data());
}

}  // namespace pyconc::multiprocessing::internal

#endif  // PYCONC_MULTIPROCESSING_SHARED_INTERNAL_SEGMENT_H_
