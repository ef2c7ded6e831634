#include "multiprocessing/process/connection.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <system_error>

#include "base/errors.h"
#include "base/misuse.h"
#include "multiprocessing/process/internal/io.h"

namespace pyconc::multiprocessing {

Connection::Connection(internal::UniqueFd fd, bool readable, bool writable)
    : fd_(std::move(fd)), readable_(readable), writable_(writable) {}

Connection::Connection(Connection&& other) noexcept
    : fd_(std::move(other.fd_)),
      readable_(other.readable_),
      writable_(other.writable_) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  fd_ = std::move(other.fd_);
  readable_ = other.readable_;
  writable_ = other.writable_;
  return *this;
}

void Connection::CheckUsable(bool for_writing) const {
  if (!fd_.valid()) {
    pyconc::internal::Misuse("OSError", "handle is closed");
  }
  if (for_writing && !writable_) {
    pyconc::internal::Misuse("OSError", "connection is read-only");
  }
  if (!for_writing && !readable_) {
    pyconc::internal::Misuse("OSError", "connection is write-only");
  }
}

absl::Status Connection::SendBytes(std::string_view bytes) {
  CheckUsable(/*for_writing=*/true);
  const uint64_t size = bytes.size();
  absl::MutexLock lock(&send_mu_);
  if (!internal::WriteAll(fd_.get(), &size, sizeof(size), bytes.data(),
                          bytes.size())) {
    return ErrnoError(errno, "send");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Connection::RecvBytes() {
  CheckUsable(/*for_writing=*/false);
  absl::MutexLock lock(&recv_mu_);
  uint64_t size = 0;
  if (!internal::ReadAll(fd_.get(), &size, sizeof(size))) {
    if (errno != 0) return ErrnoError(errno, "recv");
    return MakeError(PythonError::kEOFError);
  }
  // The buffer grows with the bytes that arrive, not with what the prefix
  // claims: a corrupt or hostile prefix costs at most what the peer sends.
  std::string bytes;
  if (!internal::ReadGrowing(fd_.get(), size, &bytes)) {
    if (errno != 0) return ErrnoError(errno, "recv");
    return MakeError(PythonError::kEOFError, "the peer closed mid-message");
  }
  return bytes;
}

bool Connection::Poll(absl::Duration timeout) const {
  CheckUsable(/*for_writing=*/false);
  return internal::WaitReadable(fd_.get(), absl::Now() + timeout);
}

void Connection::Close() { fd_.reset(); }

namespace connection {

std::vector<int> Wait(const std::vector<int>& object_list,
                      absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<pollfd> fds;
  for (int fd : object_list) {
    fds.push_back({.fd = fd, .events = POLLIN, .revents = 0});
  }
  std::vector<int> ready;
  while (true) {
    timespec remaining;
    timespec* limit = nullptr;
    if (deadline != absl::InfiniteFuture()) {
      remaining = absl::ToTimespec(
          std::max(deadline - absl::Now(), absl::ZeroDuration()));
      limit = &remaining;
    }
    const int n = ::ppoll(fds.data(), fds.size(), limit, nullptr);
    if (n < 0 && errno == EINTR) continue;
    for (const pollfd& entry : fds) {
      if (entry.revents != 0) ready.push_back(entry.fd);
    }
    return ready;
  }
}

}  // namespace connection

namespace {

// The connected pair, or the errno of a refused socketpair().
int MakePipe(bool duplex, std::pair<Connection, Connection>* ends) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return errno;
  }
  internal::UniqueFd first(fds[0]), second(fds[1]);
  if (!duplex) {
    // The kernel enforces the direction too, so a stray write fails loudly.
    ::shutdown(first.get(), SHUT_WR);
    ::shutdown(second.get(), SHUT_RD);
  }
  *ends = {Connection(std::move(first), /*readable=*/true, duplex),
           Connection(std::move(second), duplex, /*writable=*/true)};
  return 0;
}

}  // namespace

std::pair<Connection, Connection> Pipe(bool duplex) {
  std::pair<Connection, Connection> ends;
  if (const int error = MakePipe(duplex, &ends); error != 0) {
    throw std::system_error(error, std::generic_category(), "socketpair");
  }
  return ends;
}

namespace internal {
absl::StatusOr<std::pair<Connection, Connection>> TryPipe(bool duplex) {
  std::pair<Connection, Connection> ends;
  if (const int error = MakePipe(duplex, &ends); error != 0) {
    return ErrnoError(error, "socketpair");
  }
  return ends;
}
}  // namespace internal

}  // namespace pyconc::multiprocessing
