#include "asyncio/sockets.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "asyncio/errors.h"
#include "asyncio/internal/loop_core.h"
#include "base/errors.h"
#include "base/misuse.h"

namespace pyconc::asyncio::internal {
SocketAwaiter::SocketAwaiter(int fd, bool write, const char* operation,
                             Where where)
    : fd_(fd), write_(write), operation_(operation), where_(where) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || (flags & O_NONBLOCK) == 0) {
    pyconc::internal::Misuse(
        "ValueError", absl::StrCat(operation, " at ", where.ShortString(),
                                   ": the socket must be non-blocking"));
  }
}

SocketAwaiter::~SocketAwaiter() { Unregister(); }

void SocketAwaiter::Register() {
  task_->task_loop()->WatchFd(
      fd_, write_, [this] { OnReady(); }, where_);
  registered_ = true;
}

void SocketAwaiter::Unregister() {
  if (!registered_) return;
  registered_ = false;
  LoopCore* loop = task_->task_loop();
  if (!loop->closed()) loop->UnwatchFd(fd_, write_);
}

void SocketAwaiter::OnReady() {
  if (!TryIo()) return;  // Spurious readiness: keep waiting.
  Unregister();
  task_->Wake();
}

bool SocketAwaiter::CancelWait(const std::string& message) {
  if (!registered_) return false;  // Completed; the task is on its way.
  Unregister();
  cancelled_ = true;
  cancel_message_ = message;
  task_->Wake();
  return true;
}

void SocketAwaiter::CheckCancelled() {
  if (task_ == nullptr) return;  // Completed without suspending.
  task_->ThrowIfCancelRequested();
  if (cancelled_) throw CancelledError(cancel_message_);
}

std::string SocketAwaiter::DescribeWait() const {
  return absl::StrCat(operation_, "(fd ", fd_, ") at ", where_.ShortString(),
                      " in ", where_.function);
}

bool RecvAwaiter::TryIo() {
  while (true) {
    const ssize_t n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
    if (n >= 0) {
      result_ = static_cast<size_t>(n);
      return true;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    result_ = ErrnoError(errno, "recv");
    return true;
  }
}

bool SendAllAwaiter::TryIo() {
  while (!data_.empty()) {
    const ssize_t n = ::send(fd_, data_.data(), data_.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      data_.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    result_ = ErrnoError(errno, "send");
    return true;
  }
  return true;
}

bool ConnectAwaiter::TryIo() {
  if (!started_) {
    started_ = true;
    int rc;
    do {
      rc = ::connect(fd_, address_, length_);
    } while (rc != 0 && errno == EINTR);
    if (rc == 0) return true;
    if (errno == EINPROGRESS || errno == EAGAIN) return false;
    result_ = ErrnoError(errno, "connect");
    return true;
  }
  int error = 0;
  socklen_t size = sizeof(error);
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &size) != 0) {
    error = errno;
  }
  if (error == EINPROGRESS) return false;
  if (error != 0) result_ = ErrnoError(error, "connect");
  return true;
}

bool AcceptAwaiter::TryIo() {
  while (true) {
    const int fd =
        ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      result_ = fd;
      return true;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    result_ = ErrnoError(errno, "accept");
    return true;
  }
}

}  // namespace pyconc::asyncio::internal
