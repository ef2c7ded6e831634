// Small descriptor helpers shared by Connection, Queue and the fork server:
// whole reads and writes that retry after signals, and waits with deadlines.
//
// Thread-safety: thread-compatible (they only touch the descriptors given).
// Fork-safety: async-signal-safe apart from reading the clock, so they may run
// between fork and exec.

#ifndef PYCONC_MULTIPROCESSING_PROCESS_IO_H_
#define PYCONC_MULTIPROCESSING_PROCESS_IO_H_

#include <cstddef>
#include <cstdint>
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

}  // namespace pyconc::multiprocessing::internal

#endif  // PYCONC_MULTIPROCESSING_PROCESS_IO_H_
