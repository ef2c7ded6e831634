#include "asyncio/internal/streams.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "asyncio/errors.h"
#include "asyncio/sleep.h"
#include "asyncio/task.h"
#include "base/errors.h"
#include "base/misuse.h"

namespace pyconc::asyncio::internal {
namespace {

// Python's selector transport reads up to 256 KiB at a time.
constexpr size_t kMaxRecv = 256 * 1024;

std::optional<SocketAddress> AddressOf(int fd, bool peer) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  auto* address = reinterpret_cast<sockaddr*>(&storage);
  const int rc = peer ? ::getpeername(fd, address, &length)
                      : ::getsockname(fd, address, &length);
  if (rc != 0) return std::nullopt;
  return ToSocketAddress(address, length);
}

void WakeAll(WaitList& waiters) {
  while (Waiter* waiter = waiters.PopFront()) waiter->Wake();
}

}  // namespace

std::optional<SocketAddress> ToSocketAddress(const sockaddr* address,
                                             socklen_t length) {
  SocketAddress out;
  out.family = address->sa_family;
  char text[INET6_ADDRSTRLEN] = {};
  switch (address->sa_family) {
    case AF_INET: {
      const auto* in = reinterpret_cast<const sockaddr_in*>(address);
      ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
      out.host = text;
      out.port = ntohs(in->sin_port);
      return out;
    }
    case AF_INET6: {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
      ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
      out.host = text;
      out.port = ntohs(in6->sin6_port);
      return out;
    }
    case AF_UNIX: {
      const auto* un = reinterpret_cast<const sockaddr_un*>(address);
      const size_t offset = offsetof(sockaddr_un, sun_path);
      if (length > offset) {
        const size_t n = ::strnlen(un->sun_path, length - offset);
        out.host.assign(un->sun_path, n);
      }
      return out;
    }
    default:
      return std::nullopt;
  }
}

// ----------------------------------------------------------- StreamBuffer

StreamBuffer::StreamBuffer(size_t limit) : limit_(limit) {
  if (limit == 0) {
    pyconc::internal::Misuse("ValueError", "Limit cannot be <= 0");
  }
}

void StreamBuffer::WakeWaiter() {
  if (Waiter* waiter = waiter_.PopFront()) waiter->Wake();
}

void StreamBuffer::FeedData(absl::string_view data) {
  if (eof_)
    pyconc::internal::Misuse("AssertionError", "feed_data after feed_eof");
  if (data.empty()) return;
  bytes_.append(data.data(), data.size());
  WakeWaiter();
  if (transport_ != nullptr && !paused_ && size() > 2 * limit_) {
    paused_ = true;
    transport_->PauseReading();
  }
}

void StreamBuffer::FeedEof() {
  eof_ = true;
  WakeWaiter();
}

void StreamBuffer::SetException(absl::Status error) {
  exception_ = std::move(error);
  WakeWaiter();
}

std::string StreamBuffer::Take(size_t n) {
  std::string out(data().substr(0, n));
  Consume(n);
  return out;
}

void StreamBuffer::Consume(size_t n) {
  start_ += n;
  if (start_ == bytes_.size()) {
    bytes_.clear();
    start_ = 0;
  } else if (start_ > bytes_.size() / 2) {
    bytes_.erase(0, start_);
    start_ = 0;
  }
}

void StreamBuffer::PushFront(absl::string_view bytes) {
  if (bytes.empty()) return;
  bytes_.erase(0, start_);
  start_ = 0;
  bytes_.insert(0, bytes.data(), bytes.size());
}

void StreamBuffer::MaybeResumeTransport() {
  if (paused_ && size() <= limit_) {
    paused_ = false;
    transport_->ResumeReading();
  }
}

Coroutine<void> StreamBuffer::WaitForData(const char* what) {
  if (!waiter_.empty()) {
    pyconc::internal::Misuse(
        "RuntimeError",
        absl::StrCat(what,
                     "() called while another coroutine is already waiting "
                     "for incoming data"));
  }
  if (paused_) {
    paused_ = false;
    transport_->ResumeReading();
  }
  Waiter waiter(waiter_, what);
  co_await waiter;
}

// -------------------------------------------------------- StreamTransport

std::shared_ptr<StreamTransport> StreamTransport::Create(
    EventLoop& loop, int fd, size_t limit,
    std::shared_ptr<ServerState> server) {
  auto transport =
      std::make_shared<StreamTransport>(loop, fd, limit, std::move(server));
  transport->StartReading();
  return transport;
}

StreamTransport::StreamTransport(EventLoop& loop, int fd, size_t limit,
                                 std::shared_ptr<ServerState> server)
    : loop_(&loop),
      fd_(fd),
      reader_(limit),
      peername_(AddressOf(fd, /*peer=*/true)),
      sockname_(AddressOf(fd, /*peer=*/false)),
      server_(std::move(server)) {
  reader_.set_transport(this);
  if (server_ != nullptr) server_->Attach(this);
}

StreamTransport::~StreamTransport() {
  if (!loop_->IsClosed()) {
    StopReading();
    if (writer_registered_) loop_->RemoveWriter(fd_);
  }
  if (fd_ >= 0) ::close(fd_);
  if (server_ != nullptr && !closed_) server_->Detach(this);
}

StreamPair StreamTransport::Handles() {
  std::shared_ptr<StreamTransport> self = shared_from_this();
  return StreamPair(StreamReader(std::shared_ptr<StreamBuffer>(self, &reader_)),
                    StreamWriter(self));
}

void StreamTransport::StartReading() {
  if (reading_) return;
  reading_ = true;
  loop_->AddReader(fd_, [this] { OnReadable(); });
}

void StreamTransport::StopReading() {
  if (!reading_) return;
  reading_ = false;
  loop_->RemoveReader(fd_);
}

void StreamTransport::PauseReading() {
  if (!reading_) return;
  reading_paused_ = true;
  StopReading();
}

void StreamTransport::ResumeReading() {
  if (closing_ || !reading_paused_) return;
  reading_paused_ = false;
  StartReading();
}

void StreamTransport::OnReadable() {
  char chunk[64 * 1024];
  static_assert(sizeof(chunk) <= kMaxRecv);
  ssize_t n;
  do {
    n = ::recv(fd_, chunk, sizeof(chunk), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    ForceClose(ErrnoError(errno, "recv"));
    return;
  }
  if (n == 0) {
    // Python's eof_received() returning True: keep the socket open for
    // writing, but there is nothing more to read.
    StopReading();
    reader_.FeedEof();
    return;
  }
  reader_.FeedData(absl::string_view(chunk, static_cast<size_t>(n)));
}

void StreamTransport::Write(absl::string_view data) {
  if (eof_written_) {
    pyconc::internal::Misuse("RuntimeError",
                             "Cannot call write() after write_eof()");
  }
  if (data.empty() || lost_) return;
  if (write_buffer_size() == 0) {
    ssize_t n;
    do {
      n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        ForceClose(ErrnoError(errno, "send"));
        return;
      }
      n = 0;
    }
    data.remove_prefix(static_cast<size_t>(n));
    if (data.empty()) return;
    writer_registered_ = true;
    loop_->AddWriter(fd_, [this] { OnWritable(); });
  }
  pending_.append(data.data(), data.size());
  MaybePauseWriting();
}

void StreamTransport::OnWritable() {
  while (write_buffer_size() > 0) {
    const ssize_t n =
        ::send(fd_, pending_.data() + sent_, write_buffer_size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      ForceClose(ErrnoError(errno, "send"));
      return;
    }
    sent_ += static_cast<size_t>(n);
  }
  if (write_buffer_size() > 0) {
    if (sent_ > pending_.size() / 2) {
      pending_.erase(0, sent_);
      sent_ = 0;
    }
    MaybeResumeWriting();
    return;
  }
  pending_.clear();
  sent_ = 0;
  writer_registered_ = false;
  loop_->RemoveWriter(fd_);
  MaybeResumeWriting();
  if (closing_) {
    ConnectionLost(absl::OkStatus());  // May destroy `this`.
  } else if (eof_written_) {
    ::shutdown(fd_, SHUT_WR);
  }
}

void StreamTransport::WriteEof() {
  if (closing_ || eof_written_) return;
  eof_written_ = true;
  if (write_buffer_size() == 0) ::shutdown(fd_, SHUT_WR);
}

void StreamTransport::MaybePauseWriting() {
  if (!writing_paused_ && write_buffer_size() > high_water_) {
    writing_paused_ = true;
  }
}

void StreamTransport::MaybeResumeWriting() {
  if (writing_paused_ && write_buffer_size() <= low_water_) {
    writing_paused_ = false;
    WakeAll(drain_waiters_);
  }
}

void StreamTransport::SetWriteBufferLimits(size_t high, size_t low) {
  if (high < low) {
    pyconc::internal::Misuse(
        "ValueError", absl::StrCat("high (", high, ") must be >= low (", low,
                                   ") must be >= 0"));
  }
  high_water_ = high;
  low_water_ = low;
  MaybePauseWriting();
  MaybeResumeWriting();
}

void StreamTransport::Close() {
  if (closing_) return;
  closing_ = true;
  StopReading();
  if (write_buffer_size() > 0) {
    self_ = shared_from_this();  // Until the buffer is sent.
    return;
  }
  lost_ = true;
  loop_->CallSoon(
      [self = shared_from_this()] { self->ConnectionLost(absl::OkStatus()); });
}

void StreamTransport::ForceClose(absl::Status error) {
  if (lost_) return;
  lost_ = true;
  pending_.clear();
  sent_ = 0;
  if (writer_registered_) {
    writer_registered_ = false;
    loop_->RemoveWriter(fd_);
  }
  closing_ = true;
  StopReading();
  loop_->CallSoon([self = shared_from_this(), error = std::move(error)] {
    self->ConnectionLost(error);
  });
}

void StreamTransport::ConnectionLost(absl::Status error) {
  if (closed_) return;
  closed_ = true;
  lost_ = true;
  StopReading();
  if (writer_registered_) {
    writer_registered_ = false;
    loop_->RemoveWriter(fd_);
  }
  ::close(fd_);
  fd_ = -1;
  lost_error_ = error;
  if (error.ok()) {
    if (!reader_.eof()) reader_.FeedEof();
  } else {
    reader_.SetException(error);
  }
  writing_paused_ = false;
  WakeAll(drain_waiters_);
  WakeAll(closed_waiters_);
  if (server_ != nullptr) server_->Detach(this);
  std::shared_ptr<StreamTransport> last = std::move(self_);  // May go now.
}

Coroutine<absl::Status> StreamTransport::Drain() {
  if (!reader_.exception().ok()) co_return reader_.exception();
  // Python yields here so that a pending connection_lost runs first: a
  // write-then-drain loop on a closed socket sees the error.
  if (closing_) co_await Sleep(absl::ZeroDuration());
  if (closed_)
    co_return MakeError(PythonError::kConnectionResetError, "Connection lost");
  if (!writing_paused_) co_return absl::OkStatus();
  Waiter waiter(drain_waiters_, "StreamWriter.Drain");
  co_await waiter;
  co_return closed_ ? lost_error_ : absl::OkStatus();
}

Coroutine<absl::Status> StreamTransport::WaitClosed() {
  if (!closed_) {
    Waiter waiter(closed_waiters_, "StreamWriter.WaitClosed");
    co_await waiter;
  }
  co_return lost_error_;
}

// ------------------------------------------------------------ ServerState

ServerState::ServerState(EventLoop& loop, ClientConnected handler, size_t limit,
                         int backlog)
    : loop_(&loop),
      handler_(std::move(handler)),
      limit_(limit),
      backlog_(backlog) {}

ServerState::~ServerState() {
  if (accept_retry_.has_value()) accept_retry_->Cancel();
  StopListening();
}

void ServerState::AddListener(int fd) { listeners_.push_back(fd); }

void ServerState::StartServing() {
  if (serving_ || closed_) return;
  serving_ = true;
  for (int fd : listeners_) {
    loop_->AddReader(fd, [this, fd] { OnAcceptable(fd); });
  }
}

void ServerState::StopListening() {
  const bool loop_open = !loop_->IsClosed();
  for (int fd : listeners_) {
    if (serving_ && loop_open) loop_->RemoveReader(fd);
    ::close(fd);
  }
  listeners_.clear();
  serving_ = false;
  if (!unix_path_.empty()) {
    struct stat st {};
    if (::stat(unix_path_.c_str(), &st) == 0 && st.st_ino == unix_inode_) {
      ::unlink(unix_path_.c_str());
    }
    unix_path_.clear();
  }
}

void ServerState::OnAcceptable(int listener) {
  // Python accepts up to `backlog` connections per readiness.
  for (int i = 0; i < backlog_; ++i) {
    const int fd =
        ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR ||
          error == ECONNABORTED) {
        return;
      }
      if (error == EMFILE || error == ENFILE || error == ENOBUFS ||
          error == ENOMEM) {
        // Python's "socket.accept() out of system resource": stop accepting
        // for a second, so the loop does not spin on a listening socket that
        // stays readable.
        loop_->CallExceptionHandler({"socket.accept() out of system resource",
                                     nullptr,
                                     ErrnoError(error, "accept").ToString()});
        for (int listening : listeners_) loop_->RemoveReader(listening);
        serving_ = false;
        accept_retry_ = loop_->CallLater(absl::Seconds(1), [this] {
          accept_retry_.reset();
          StartServing();
        });
        return;
      }
      loop_->CallExceptionHandler({"Error on accepting a connection", nullptr,
                                   ErrnoError(error, "accept").ToString()});
      return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto transport =
        StreamTransport::Create(*loop_, fd, limit_, shared_from_this());
    auto [reader, writer] = transport->Handles();
    loop_->CreateTask(handler_(std::move(reader), std::move(writer)));
  }
}

void ServerState::Detach(StreamTransport* transport) {
  clients_.erase(transport);
  if (clients_.empty() && closed_) WakeClosedWaiters();
}

void ServerState::WakeClosedWaiters() { WakeAll(closed_waiters_); }

std::vector<SocketAddress> ServerState::Sockets() const {
  std::vector<SocketAddress> out;
  for (int fd : listeners_) {
    if (std::optional<SocketAddress> a = AddressOf(fd, /*peer=*/false)) {
      out.push_back(*std::move(a));
    }
  }
  return out;
}

void ServerState::Close() {
  if (closed_) return;
  closed_ = true;
  if (accept_retry_.has_value()) {
    accept_retry_->Cancel();
    accept_retry_.reset();
  }
  StopListening();
  if (serving_forever_.has_value() && !serving_forever_->Done()) {
    serving_forever_->Cancel();
  }
  serving_forever_.reset();
  if (clients_.empty()) WakeClosedWaiters();
}

void ServerState::CloseClients() {
  std::vector<StreamTransport*> clients(clients_.begin(), clients_.end());
  for (StreamTransport* client : clients) client->Close();
}

Coroutine<void> ServerState::ServeForever() {
  if (serving_forever_.has_value()) {
    pyconc::internal::Misuse(
        "RuntimeError", "server is already being awaited on serve_forever()");
  }
  if (closed_) pyconc::internal::Misuse("RuntimeError", "server is closed");
  StartServing();
  Future<void> forever = loop_->CreateFuture<void>();
  serving_forever_ = forever;
  std::exception_ptr cancelled;
  try {
    co_await forever;
  } catch (const CancelledError&) {
    cancelled = std::current_exception();
  }
  serving_forever_.reset();
  Close();
  co_await WaitClosed();
  std::rethrow_exception(cancelled);
}

Coroutine<void> ServerState::WaitClosed() {
  if (closed_ && clients_.empty()) co_return;
  Waiter waiter(closed_waiters_, "Server.WaitClosed");
  co_await waiter;
}

}  // namespace pyconc::asyncio::internal
