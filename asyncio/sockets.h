// Socket awaitables: Python's loop.sock_recv / sock_sendall / sock_connect /
// sock_accept, on non-blocking sockets.
//
//   absl::StatusOr<size_t> n = co_await SockRecv(fd, absl::MakeSpan(buffer));
//   absl::Status sent = co_await SockSendAll(fd, "hello");
//
// Each first tries the system call at once (no suspension when it can
// complete); otherwise it registers the descriptor with the task's loop
// (epoll, level-triggered) and suspends the task until the call completes.
// The task resumes on the loop's thread, in the iteration after the one in
// which the descriptor became ready. Cancelling the task removes the
// registration and throws CancelledError at the await; a partial SockSendAll
// that is cancelled has sent an unknown prefix, as in Python.
//
// Differences from Python, by pyconc's error model: a socket error is a value
// (absl::Status naming Python's exception, e.g. "ConnectionRefusedError:
// [Errno 111] Connection refused"), not an exception. Sockets are plain file
// descriptors that the caller owns; a blocking socket is misuse (ValueError).
//
// Thread-safety: awaited inside a task, on the loop's thread.

#ifndef PYCONC_ASYNCIO_SOCKETS_H_
#define PYCONC_ASYNCIO_SOCKETS_H_

#include <sys/socket.h>

#include <coroutine>
#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "asyncio/debug.h"
#include "asyncio/internal/suspension.h"

namespace pyconc::asyncio {
namespace internal {

// What every socket awaitable shares: try, else wait for readiness.
class SocketAwaiter : public Waitable {
 public:
  SocketAwaiter(int fd, bool write, const char* operation, Where where);
  SocketAwaiter(const SocketAwaiter&) = delete;
  SocketAwaiter& operator=(const SocketAwaiter&) = delete;
  ~SocketAwaiter();

  bool await_ready() { return TryIo(); }
  template <typename P>
  void await_suspend(std::coroutine_handle<P> caller) {
    task_ = caller.promise().task();
    task_->SuspendOn(caller, this);
    Register();
  }

  bool CancelWait(const std::string& message) override;
  void AbandonWait(TaskBase*) override { Unregister(); }
  std::string DescribeWait() const override;

 protected:
  // Attempts the call: true when it completed (the result is stored), false
  // when it would block.
  virtual bool TryIo() = 0;
  // First in await_resume: throws CancelledError if the task was cancelled.
  void CheckCancelled();

  const int fd_;

 private:
  void Register();
  void Unregister();
  void OnReady();

  const bool write_;
  const char* operation_;
  Where where_;
  TaskFrame* task_ = nullptr;
  std::string cancel_message_;
  bool registered_ = false;
  bool cancelled_ = false;
};

class RecvAwaiter final : public SocketAwaiter {
 public:
  RecvAwaiter(int fd, absl::Span<char> buffer, Where where)
      : SocketAwaiter(fd, false, "SockRecv", where), buffer_(buffer) {}
  absl::StatusOr<size_t> await_resume() {
    CheckCancelled();
    return std::move(result_);
  }

 private:
  bool TryIo() override;
  absl::Span<char> buffer_;
  absl::StatusOr<size_t> result_;
};

class SendAllAwaiter final : public SocketAwaiter {
 public:
  SendAllAwaiter(int fd, absl::string_view data, Where where)
      : SocketAwaiter(fd, true, "SockSendAll", where), data_(data) {}
  absl::Status await_resume() {
    CheckCancelled();
    return result_;
  }

 private:
  bool TryIo() override;
  absl::string_view data_;
  absl::Status result_;
};

class ConnectAwaiter final : public SocketAwaiter {
 public:
  ConnectAwaiter(int fd, const sockaddr* address, socklen_t length, Where where)
      : SocketAwaiter(fd, true, "SockConnect", where),
        address_(address),
        length_(length) {}
  absl::Status await_resume() {
    CheckCancelled();
    return result_;
  }

 private:
  bool TryIo() override;
  const sockaddr* address_;
  socklen_t length_;
  bool started_ = false;
  absl::Status result_;
};

class AcceptAwaiter final : public SocketAwaiter {
 public:
  AcceptAwaiter(int fd, Where where)
      : SocketAwaiter(fd, false, "SockAccept", where) {}
  absl::StatusOr<int> await_resume() {
    CheckCancelled();
    return std::move(result_);
  }

 private:
  bool TryIo() override;
  absl::StatusOr<int> result_;
};

}  // namespace internal

// Python's loop.sock_recv_into(sock, buf): the number of bytes read into
// `buffer`, 0 at end of stream.
inline internal::RecvAwaiter SockRecv(
    int fd, absl::Span<char> buffer,
    internal::Where where = internal::Where::Here()) {
  return internal::RecvAwaiter(fd, buffer, where);
}
// Python's loop.sock_sendall(sock, data): sends all of `data` (which must
// stay valid until the await completes).
inline internal::SendAllAwaiter SockSendAll(
    int fd, absl::string_view data,
    internal::Where where = internal::Where::Here()) {
  return internal::SendAllAwaiter(fd, data, where);
}
// Python's loop.sock_connect(sock, address).
inline internal::ConnectAwaiter SockConnect(
    int fd, const sockaddr* address, socklen_t length,
    internal::Where where = internal::Where::Here()) {
  return internal::ConnectAwaiter(fd, address, length, where);
}
// Python's loop.sock_accept(sock): the accepted connection, already
// non-blocking and close-on-exec (the peer's address: getpeername).
inline internal::AcceptAwaiter SockAccept(
    int fd, internal::Where where = internal::Where::Here()) {
  return internal::AcceptAwaiter(fd, where);
}

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_SOCKETS_H_
