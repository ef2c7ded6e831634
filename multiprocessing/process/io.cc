#include "multiprocessing/process/io.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
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

bool WriteAll(int fd, const void* first, size_t first_size, const void* second,
              size_t second_size) {
  iovec parts[2] = {{const_cast<void*>(first), first_size},
                    {const_cast<void*>(second), second_size}};
  msghdr message = {};
  message.msg_iov = parts;
  message.msg_iovlen = 2;
  ssize_t n;
  do {
    n = ::sendmsg(fd, &message, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return false;
  // The kernel took part of it (a large message): write the rest in order.
  size_t done = static_cast<size_t>(n);
  if (done < first_size) {
    return WriteAll(fd, static_cast<const char*>(first) + done,
                    first_size - done) &&
           WriteAll(fd, second, second_size);
  }
  done -= first_size;
  return WriteAll(fd, static_cast<const char*>(second) + done,
                  second_size - done);
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

bool ReadGrowing(int fd, uint64_t size, std::string* out) {
  constexpr uint64_t kStep = uint64_t{1} << 20;
  out->clear();
  while (out->size() < size) {
    const size_t done = out->size();
    const size_t step = static_cast<size_t>(std::min(size - done, kStep));
    out->resize(done + step);
    if (!ReadAll(fd, out->data() + done, step)) return false;
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
