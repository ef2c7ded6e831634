#include "multiprocessing/process/io.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "absl/time/clock.h"

namespace pyconc::multiprocessing::internal {
namespace {

bool WaitFor(int fd, short events, absl::Time deadline) {
  while (true) {
    timespec remaining;
    timespec* timeout = nullptr;
    if (deadline != absl::InfiniteFuture()) {
      remaining = absl::ToTimespec(
          std::max(deadline - absl::Now(), absl::ZeroDuration()));
      timeout = &remaining;
    }
    pollfd entry = {.fd = fd, .events = events, .revents = 0};
    const int ready = ::ppoll(&entry, 1, timeout, nullptr);
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return true;  // Let the read or write report it.
  }
}

}  // namespace

bool WriteAll(int fd, const void* data, size_t size) {
  const char* next = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::send(fd, next, size, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    next += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool ReadAll(int fd, void* data, size_t size) {
  char* next = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::read(fd, next, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = 0;
      return false;
    }
    next += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool WaitReadable(int fd, absl::Time deadline) {
  return WaitFor(fd, POLLIN, deadline);
}

bool WaitWritable(int fd, absl::Time deadline) {
  return WaitFor(fd, POLLOUT, deadline);
}

}  // namespace pyconc::multiprocessing::internal
