// Small descriptor helpers shared by Connection, Queue and the fork server:
// whole reads and writes that retry after signals, and waits with deadlines.
//
// Thread-safety: thread-compatible (they only touch the descriptors given).
// Fork-safety: async-signal-safe apart from reading the clock, so they may run
// between fork and exec.

#ifndef PYCONC_MULTIPROCESSING_PROCESS_INTERNAL_IO_H_
#define PYCONC_MULTIPROCESSING_PROCESS_INTERNAL_IO_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"

namespace pyconc::multiprocessing::internal {

// Writes all `size` bytes to a socket (without SIGPIPE); false on error, with
// errno set (EPIPE once the peer is gone).
bool WriteAll(int fd, const void* data, size_t size);
// Writes `first` then `second` with one system call where the kernel takes
// them whole (so that a small message from one process is never interleaved
// with another's on a shared socket); false on error, with errno set.
bool WriteAll(int fd, const void* first, size_t first_size, const void* second,
              size_t second_size);
// Reads exactly `size` bytes; false on EOF (errno 0) or error.
bool ReadAll(int fd, void* data, size_t size);
// Reads exactly `size` bytes into `out`, growing it as the bytes arrive (so a
// length prefix that lies costs only what the peer really sends); false on
// EOF (errno 0) or error.
bool ReadGrowing(int fd, uint64_t size, std::string* out);
// Waits until `fd` is readable (data or EOF), or writable, before `deadline`;
// absl::InfiniteFuture() waits for ever. Answers whether it is.
bool WaitReadable(int fd, absl::Time deadline);
bool WaitWritable(int fd, absl::Time deadline);

// A shared mapping of a message file (see MapMessageFile), unmapped when its
// last holder lets it go.
class FileMapping {
 public:
  FileMapping(char* data, size_t size, bool writable)
      : data_(data), size_(size), writable_(writable) {}
  FileMapping(const FileMapping&) = delete;
  FileMapping& operator=(const FileMapping&) = delete;
  ~FileMapping();

  char* data() const { return data_; }
  size_t size() const { return size_; }
  // Mapped for writing too (the descriptor allowed it).
  bool writable() const { return writable_; }

 private:
  char* const data_;
  const size_t size_;
  const bool writable_;
};

// A shared mapping of the first `size` bytes of the memfd `fd` (which must
// be that long), populated. This process keeps the mappings of the message
// files it used last (at most 4, 512 MiB in all) and answers the same one for
// the same file while it covers `size`: a file that goes back and forth between
// two processes (a pool's argument out, its result back) is mapped once in
// each, and its pages are then written and read with no system call (a kept
// mapping that is too short is replaced). A kept
// mapping keeps its file's memory until it is dropped for a newer one. Null
// with errno set when the file cannot be mapped.
std::shared_ptr<const FileMapping> MapMessageFile(int fd, size_t size);

// Memory for one large message body, read straight into it: reserved whole
// but committed only as bytes are written (so a length prefix that lies costs
// what the peer really sends), on huge pages where the kernel gives them (64
// MiB then costs 32 page faults, not 16,384); or the mapping of a Message's
// shared file. Move-only; unmapped when destroyed.
class MappedBuffer {
 public:
  MappedBuffer() = default;
  MappedBuffer(MappedBuffer&& other) noexcept;
  MappedBuffer& operator=(MappedBuffer&& other) noexcept;
  ~MappedBuffer() { Release(); }

  // Releases what it held and reserves `size` bytes; false with errno set
  // when the address space has no room for them.
  bool Reset(size_t size);
  // Releases what it held and maps the first `size` bytes of the sealed
  // file `fd` (a Message's), through MapMessageFile(); false with errno set
  // when the file is not sealed against shrinking, is shorter, or cannot be
  // mapped.
  bool MapFile(int fd, size_t size);
  // Unmaps the buffer (size() is then 0).
  void Release();

  char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void* mapping_ = nullptr;  // What mmap() gave: data_ rounded down.
  size_t mapping_size_ = 0;
  std::shared_ptr<const FileMapping> file_;  // Or a file's mapping.
  char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace pyconc::multiprocessing::internal

#endif  // PYCONC_MULTIPROCESSING_PROCESS_INTERNAL_IO_H_
