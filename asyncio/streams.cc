#include "asyncio/streams.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "asyncio/errors.h"
#include "asyncio/executor.h"
#include "asyncio/internal/streams.h"
#include "asyncio/loop.h"
#include "asyncio/sockets.h"
#include "base/errors.h"
#include "base/misuse.h"

namespace pyconc::asyncio {
namespace {

constexpr absl::string_view kPartialUrl =
    "type.googleapis.com/pyconc.asyncio.IncompleteReadError.partial";
constexpr absl::string_view kConsumedUrl =
    "type.googleapis.com/pyconc.asyncio.LimitOverrunError.consumed";

// Python's IncompleteReadError(partial, expected): "18 bytes read on a total
// of 36 expected bytes" ("undefined" when no count was expected).
absl::Status IncompleteRead(std::string partial,
                            std::optional<size_t> expected) {
  absl::Status status =
      MakeError(PythonError::kIncompleteReadError,
                absl::StrCat(partial.size(), " bytes read on a total of ",
                             expected.has_value() ? absl::StrCat(*expected)
                                                  : std::string("undefined"),
                             " expected bytes"));
  status.SetPayload(kPartialUrl, absl::Cord(std::move(partial)));
  return status;
}

// Python's LimitOverrunError(message, consumed).
absl::Status LimitOverrun(absl::string_view message, size_t consumed) {
  absl::Status status = MakeError(PythonError::kLimitOverrunError, message);
  status.SetPayload(kConsumedUrl, absl::Cord(absl::StrCat(consumed)));
  return status;
}

// One address to connect to or bind.
struct Endpoint {
  int family;
  sockaddr_storage address;
  socklen_t length;
};

SocketAddress Describe(const Endpoint& endpoint) {
  std::optional<SocketAddress> a = internal::ToSocketAddress(
      reinterpret_cast<const sockaddr*>(&endpoint.address), endpoint.length);
  return a.has_value() ? *a : SocketAddress{};
}

// Python's _ipaddr_info: a numeric address needs no lookup.
std::optional<Endpoint> NumericEndpoint(const std::string& host, int port) {
  Endpoint e{};
  auto* in = reinterpret_cast<sockaddr_in*>(&e.address);
  if (::inet_pton(AF_INET, host.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    e.family = AF_INET;
    e.length = sizeof(sockaddr_in);
    return e;
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&e.address);
  if (::inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    e.family = AF_INET6;
    e.length = sizeof(sockaddr_in6);
    return e;
  }
  return std::nullopt;
}

// Python's loop.getaddrinfo(host, port, type=SOCK_STREAM), blocking: run on
// the default executor. A failure is socket.gaierror, an OSError.
absl::StatusOr<std::vector<Endpoint>> ResolveBlocking(std::string host,
                                                      int port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* found = nullptr;
  const std::string service = absl::StrCat(port);
  const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(),
                               service.c_str(), &hints, &found);
  if (rc == EAI_SYSTEM) return ErrnoError(errno, "getaddrinfo");
  if (rc != 0) {
    return MakeError(PythonError::kOSError,
                     absl::StrCat("[Errno ", rc, "] ", ::gai_strerror(rc),
                                  " (socket.gaierror, host '", host, "')"));
  }
  std::vector<Endpoint> out;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    Endpoint e{};
    e.family = ai->ai_family;
    std::memcpy(&e.address, ai->ai_addr, ai->ai_addrlen);
    e.length = ai->ai_addrlen;
    out.push_back(e);
  }
  ::freeaddrinfo(found);
  return out;
}

Coroutine<absl::StatusOr<std::vector<Endpoint>>> Resolve(std::string host,
                                                         int port,
                                                         bool passive) {
  if (port < 0 || port > 65535) {
    co_return MakeError(PythonError::kValueError,
                        absl::StrCat("port must be 0-65535, not ", port));
  }
  if (!host.empty()) {
    if (std::optional<Endpoint> e = NumericEndpoint(host, port)) {
      co_return std::vector<Endpoint>{*e};
    }
  }
  absl::StatusOr<absl::StatusOr<std::vector<Endpoint>>> found =
      co_await ToThread(ResolveBlocking, host, port, passive);
  if (!found.ok()) co_return found.status();
  co_return *std::move(found);
}

// A socket closed when it goes out of scope unless released.
class OwnedFd {
 public:
  explicit OwnedFd(int fd) : fd_(fd) {}
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

void SetNoDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

StreamPair Wrap(int fd, size_t limit) {
  return internal::StreamTransport::Create(GetRunningLoop(), fd, limit)
      ->Handles();
}

// Python's create_connection error: the one error, or "Multiple exceptions"
// when the addresses failed differently.
absl::Status CombineErrors(const std::vector<absl::Status>& errors) {
  bool same = true;
  for (const absl::Status& e : errors) same = same && e == errors.front();
  if (errors.size() == 1 || same) return errors.front();
  std::vector<std::string> messages;
  for (const absl::Status& e : errors) messages.emplace_back(e.message());
  return MakeError(
      PythonError::kOSError,
      absl::StrCat("Multiple exceptions: ", absl::StrJoin(messages, ", ")));
}

Coroutine<absl::StatusOr<int>> ConnectSocket(const Endpoint& endpoint) {
  OwnedFd fd(
      ::socket(endpoint.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) co_return ErrnoError(errno, "socket");
  if (endpoint.family != AF_UNIX) SetNoDelay(fd.get());
  absl::Status connected = co_await SockConnect(
      fd.get(), reinterpret_cast<const sockaddr*>(&endpoint.address),
      endpoint.length);
  if (!connected.ok()) {
    // Python's "Connect call failed ('127.0.0.1', 1)".
    co_return absl::Status(
        connected.code(),
        absl::StrCat(connected.message(), " (Connect call failed ",
                     Describe(endpoint).ToString(), ")"));
  }
  co_return fd.release();
}

Coroutine<absl::StatusOr<int>> ListenOn(const Endpoint& endpoint, int backlog) {
  OwnedFd fd(
      ::socket(endpoint.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) co_return ErrnoError(errno, "socket");
  int one = 1;
  if (endpoint.family != AF_UNIX) {
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  }
  if (endpoint.family == AF_INET6) {
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&endpoint.address),
             endpoint.length) != 0) {
    co_return ErrnoError(
        errno, absl::StrCat("error while attempting to bind on address ",
                            Describe(endpoint).ToString()));
  }
  if (::listen(fd.get(), backlog) != 0) co_return ErrnoError(errno, "listen");
  co_return fd.release();
}

absl::StatusOr<Endpoint> UnixEndpoint(absl::string_view path) {
  Endpoint e{};
  auto* un = reinterpret_cast<sockaddr_un*>(&e.address);
  if (path.empty()) {
    return MakeError(PythonError::kValueError,
                     "AF_UNIX path must not be empty");
  }
  if (path.size() >= sizeof(un->sun_path)) {
    return MakeError(PythonError::kOSError, "AF_UNIX path too long");
  }
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  e.family = AF_UNIX;
  e.length = offsetof(sockaddr_un, sun_path) + path.size() + 1;
  return e;
}

}  // namespace

std::string SocketAddress::ToString() const {
  if (family == AF_UNIX) return absl::StrCat("'", host, "'");
  return absl::StrCat("('", host, "', ", port, ")");
}

std::string IncompleteReadPartial(const absl::Status& status) {
  std::optional<absl::Cord> partial = status.GetPayload(kPartialUrl);
  return partial.has_value() ? std::string(*partial) : std::string();
}

size_t LimitOverrunConsumed(const absl::Status& status) {
  std::optional<absl::Cord> consumed = status.GetPayload(kConsumedUrl);
  size_t n = 0;
  if (consumed.has_value() && absl::SimpleAtoi(std::string(*consumed), &n)) {
    return n;
  }
  return 0;
}

// ----------------------------------------------------------- StreamReader

StreamReader::StreamReader(size_t limit)
    : buffer_(std::make_shared<internal::StreamBuffer>(limit)) {}

bool StreamReader::AtEof() const {
  return buffer_->eof() && buffer_->size() == 0;
}
void StreamReader::FeedData(absl::string_view data) { buffer_->FeedData(data); }
void StreamReader::FeedEof() { buffer_->FeedEof(); }
void StreamReader::SetException(absl::Status error) {
  buffer_->SetException(std::move(error));
}
absl::Status StreamReader::Exception() const { return buffer_->exception(); }

Coroutine<absl::StatusOr<std::string>> StreamReader::Read(int64_t n) {
  internal::StreamBuffer& b = *buffer_;
  if (!b.exception().ok()) co_return b.exception();
  if (n == 0) co_return std::string();
  if (n < 0) {
    // Python reads limit-sized blocks until the end; here what was taken
    // goes back to the buffer if the read is cancelled or fails.
    std::string all;
    while (true) {
      if (!b.exception().ok()) {
        b.PushFront(all);
        co_return b.exception();
      }
      if (b.size() > 0) {
        all += b.Take(b.size());
        b.MaybeResumeTransport();
        continue;
      }
      if (b.eof()) co_return all;
      try {
        co_await b.WaitForData("read");
      } catch (const CancelledError&) {
        b.PushFront(all);
        throw;
      }
    }
  }
  if (b.size() == 0 && !b.eof()) {
    co_await b.WaitForData("read");
    if (!b.exception().ok()) co_return b.exception();
  }
  std::string data = b.Take(std::min(static_cast<size_t>(n), b.size()));
  b.MaybeResumeTransport();
  co_return data;
}

Coroutine<absl::StatusOr<std::string>> StreamReader::ReadUntil(
    absl::string_view separator) {
  internal::StreamBuffer& b = *buffer_;
  const size_t seplen = separator.size();
  if (seplen == 0) {
    pyconc::internal::Misuse("ValueError",
                             "Separator should be at least one-byte string");
  }
  if (!b.exception().ok()) co_return b.exception();
  size_t offset = 0;
  size_t isep;
  while (true) {
    const size_t buflen = b.size();
    if (buflen - offset >= seplen) {
      isep = b.data().find(separator, offset);
      if (isep != absl::string_view::npos) break;
      // Where the next search starts: a separator may straddle the end.
      offset = buflen + 1 - seplen;
      if (offset > b.limit()) {
        co_return LimitOverrun(
            "Separator is not found, and chunk exceed the limit", offset);
      }
    }
    if (b.eof()) co_return IncompleteRead(b.Take(b.size()), std::nullopt);
    co_await b.WaitForData("readuntil");
    if (!b.exception().ok()) co_return b.exception();
  }
  if (isep > b.limit()) {
    co_return LimitOverrun("Separator is found, but chunk is longer than limit",
                           isep);
  }
  std::string chunk = b.Take(isep + seplen);
  b.MaybeResumeTransport();
  co_return chunk;
}

Coroutine<absl::StatusOr<std::string>> StreamReader::ReadLine() {
  absl::StatusOr<std::string> line = co_await ReadUntil("\n");
  if (line.ok()) co_return line;
  if (IsError(line.status(), PythonError::kIncompleteReadError)) {
    co_return IncompleteReadPartial(line.status());
  }
  if (IsError(line.status(), PythonError::kLimitOverrunError)) {
    internal::StreamBuffer& b = *buffer_;
    const size_t consumed = LimitOverrunConsumed(line.status());
    if (b.data().substr(consumed).starts_with("\n")) {
      b.Consume(consumed + 1);
    } else {
      b.Consume(b.size());
    }
    b.MaybeResumeTransport();
    // Python raises ValueError with LimitOverrunError's message.
    const absl::string_view message = line.status().message();
    const absl::string_view prefix = "asyncio.LimitOverrunError: ";
    co_return MakeError(
        PythonError::kValueError,
        message.starts_with(prefix) ? message.substr(prefix.size()) : message);
  }
  co_return line;
}

Coroutine<absl::StatusOr<std::string>> StreamReader::ReadExactly(size_t n) {
  internal::StreamBuffer& b = *buffer_;
  if (!b.exception().ok()) co_return b.exception();
  if (n == 0) co_return std::string();
  while (b.size() < n) {
    if (b.eof()) co_return IncompleteRead(b.Take(b.size()), n);
    co_await b.WaitForData("readexactly");
    if (!b.exception().ok()) co_return b.exception();
  }
  std::string data = b.Take(n);
  b.MaybeResumeTransport();
  co_return data;
}

// ----------------------------------------------------------- StreamWriter

void StreamWriter::Write(absl::string_view data) { transport_->Write(data); }
void StreamWriter::WriteEof() { transport_->WriteEof(); }
Coroutine<absl::Status> StreamWriter::Drain() { return transport_->Drain(); }
void StreamWriter::Close() { transport_->Close(); }
bool StreamWriter::IsClosing() const { return transport_->IsClosing(); }
Coroutine<absl::Status> StreamWriter::WaitClosed() {
  return transport_->WaitClosed();
}
std::optional<SocketAddress> StreamWriter::GetExtraInfo(
    absl::string_view name) const {
  if (name == "peername") return transport_->peername();
  if (name == "sockname") return transport_->sockname();
  return std::nullopt;
}
void StreamWriter::SetWriteBufferLimits(size_t high, size_t low) {
  transport_->SetWriteBufferLimits(high, low);
}
size_t StreamWriter::GetWriteBufferSize() const {
  return transport_->write_buffer_size();
}

// ----------------------------------------------------------------- Server

std::vector<SocketAddress> Server::Sockets() const { return state_->Sockets(); }
bool Server::IsServing() const { return state_->IsServing(); }
Coroutine<void> Server::ServeForever() { return state_->ServeForever(); }
void Server::Close() { state_->Close(); }
void Server::CloseClients() { state_->CloseClients(); }
Coroutine<void> Server::WaitClosed() { return state_->WaitClosed(); }

// ------------------------------------------------------------ Connections

Coroutine<absl::StatusOr<StreamPair>> OpenConnection(absl::string_view host,
                                                     int port, size_t limit) {
  absl::StatusOr<std::vector<Endpoint>> endpoints =
      co_await Resolve(std::string(host), port, /*passive=*/false);
  if (!endpoints.ok()) co_return endpoints.status();
  if (endpoints->empty()) {
    co_return MakeError(PythonError::kOSError,
                        "getaddrinfo() returned empty list");
  }
  std::vector<absl::Status> errors;
  for (const Endpoint& endpoint : *endpoints) {
    absl::StatusOr<int> fd = co_await ConnectSocket(endpoint);
    if (fd.ok()) co_return Wrap(*fd, limit);
    errors.push_back(fd.status());
  }
  co_return CombineErrors(errors);
}

Coroutine<absl::StatusOr<StreamPair>> OpenUnixConnection(absl::string_view path,
                                                         size_t limit) {
  absl::StatusOr<Endpoint> endpoint = UnixEndpoint(path);
  if (!endpoint.ok()) co_return endpoint.status();
  absl::StatusOr<int> fd = co_await ConnectSocket(*endpoint);
  if (!fd.ok()) co_return fd.status();
  co_return Wrap(*fd, limit);
}

StreamPair OpenConnectionOnSocket(int fd, size_t limit) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return Wrap(fd, limit);
}

namespace internal {

Coroutine<absl::StatusOr<Server>> StartTcpServer(ClientConnected handler,
                                                 absl::string_view host,
                                                 int port, size_t limit,
                                                 int backlog) {
  EventLoop& loop = GetRunningLoop();
  auto state =
      std::make_shared<ServerState>(loop, std::move(handler), limit, backlog);
  absl::StatusOr<std::vector<Endpoint>> endpoints =
      co_await Resolve(std::string(host), port, /*passive=*/true);
  if (!endpoints.ok()) co_return endpoints.status();
  for (const Endpoint& endpoint : *endpoints) {
    absl::StatusOr<int> fd = co_await ListenOn(endpoint, backlog);
    if (!fd.ok()) co_return fd.status();  // `state` closes the others.
    state->AddListener(*fd);
  }
  state->StartServing();
  co_return ServerState::Handle(std::move(state));
}

Coroutine<absl::StatusOr<Server>> StartUnixServer(ClientConnected handler,
                                                  absl::string_view path,
                                                  size_t limit, int backlog) {
  EventLoop& loop = GetRunningLoop();
  auto state =
      std::make_shared<ServerState>(loop, std::move(handler), limit, backlog);
  absl::StatusOr<Endpoint> endpoint = UnixEndpoint(path);
  if (!endpoint.ok()) co_return endpoint.status();
  const std::string file(path);
  // Python removes a stale socket file left by an earlier server.
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    ::unlink(file.c_str());
  }
  absl::StatusOr<int> fd = co_await ListenOn(*endpoint, backlog);
  if (!fd.ok()) co_return fd.status();
  state->AddListener(*fd);
  if (::stat(file.c_str(), &st) == 0) state->set_unix_path(file, st.st_ino);
  state->StartServing();
  co_return ServerState::Handle(std::move(state));
}

}  // namespace internal
}  // namespace pyconc::asyncio
