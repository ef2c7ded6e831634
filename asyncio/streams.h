// Streams: Python's asyncio streams (asyncio/streams.py, 3.13), the
// high-level way to talk TCP or Unix sockets from tasks of one event loop.
//
//   Python                              pyconc
//   r, w = await asyncio.open_connection( auto conn = co_await
//       host, port)                         OpenConnection(host, port);
//                                       auto [r, w] = *std::move(conn);
//   line = await r.readline()           absl::StatusOr<std::string> line =
//                                           co_await r.ReadLine();
//   data = await r.readexactly(n)       ... = co_await r.ReadExactly(n);
//   w.write(b"hi"); await w.drain()     w.Write("hi");
//                                       absl::Status s = co_await w.Drain();
//   w.close(); await w.wait_closed()    w.Close();
//                                       s = co_await w.WaitClosed();
//   srv = await asyncio.start_server(   auto srv = co_await StartServer(
//       handle, host, port)                 Handle, host, port);
//   await srv.serve_forever()           co_await srv->ServeForever();
//
// How it runs (as Python's selector transport): each connection keeps a
// reader registered with the loop; in the iteration its socket is readable,
// the loop receives what is there into the StreamReader's buffer and wakes the
// task waiting in a read. Reading pauses when the buffer holds more than twice
// the limit, and resumes once a read brings it down to the limit. Write() sends
// at once what the socket takes and buffers the rest, which the loop sends as
// the socket drains; Drain() waits while that buffer is above the high-water
// mark (64 KiB) until it falls to the low one (16 KiB). A task resumes on the
// loop's thread in the iteration after the one in which its data arrived.
//
// Where it matches Python, case by case:
// - Read(n) returns at most n bytes, as soon as any are there; Read() (n < 0)
//   reads to the end of the stream; "" means end of stream.
// - ReadExactly(n) at end of stream returns IncompleteReadError holding the
//   partial bytes (IncompleteReadPartial), which leave the buffer.
// - ReadUntil(separator) returns the bytes up to and including the separator;
//   LimitOverrunError when more than `limit` bytes come before it (the bytes
//   stay in the buffer; LimitOverrunConsumed says how many); at end of stream,
//   IncompleteReadError with the rest. ReadLine() is ReadUntil("\n"), except
//   that at end of stream it returns what is left, and over the limit it
//   drops the line (or what there is of it) and returns ValueError.
// - A connection error (reset by the peer) is kept by the reader: every later
//   read returns it, even with bytes still in the buffer, as Python raises it.
// - Close() stops reading, sends what is buffered, then closes the socket;
//   the local reader then sees end of stream. Writes after the connection is
//   lost are dropped; Drain() then returns ConnectionResetError("Connection
//   lost") or the error that lost it.
// - Everything that waits is cancellable: CancelledError is thrown at the
//   await, and a cancelled read loses no bytes (what arrived stays in the
//   buffer for the next read; what Read() had gathered towards the end of
//   stream goes back to the buffer's front).
// - Name resolution is getaddrinfo on the loop's default executor (skipped for
//   numeric addresses, as Python's _ipaddr_info does); OpenConnection tries
//   each address in turn.
//
// Where C++ made a difference: errors are values, statuses named after
// Python's exceptions by //base:errors (ConnectionRefusedError,
// ConnectionResetError, IncompleteReadError, LimitOverrunError, ...; a
// failed name lookup is Python's socket.gaierror, an OSError). Cancellation
// stays the exception CancelledError. Handles are reference-counted like
// Python objects: a connection whose reader and writer handles are all gone is
// closed at once (Python closes it when it is collected), and a Server stops
// listening once its handles and its connections are all gone. Misuse that
// Python answers with RuntimeError or ValueError fails fast naming it: two
// tasks reading one stream at once, a zero limit, an empty separator,
// write-buffer limits with high < low, Write() after WriteEof().
//
// Lifetime: streams and servers belong to their loop and must not outlive it.
// A connection closed with data still to send stays open until it is sent, or
// until the loop closes.
//
// Thread-safety: like Python's, not thread-safe: use streams on their loop's
// thread.

#ifndef PYCONC_ASYNCIO_STREAMS_H_
#define PYCONC_ASYNCIO_STREAMS_H_

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "asyncio/coroutine.h"

namespace pyconc::asyncio {
namespace internal {
class StreamBuffer;
class StreamTransport;
class ServerState;
}  // namespace internal

// Python's asyncio.streams._DEFAULT_LIMIT: 64 KiB.
inline constexpr size_t kDefaultStreamLimit = 64 * 1024;

// A socket address as Python's getpeername()/getsockname() give it.
struct SocketAddress {
  int family = AF_UNSPEC;  // AF_INET, AF_INET6 or AF_UNIX.
  std::string host;        // "127.0.0.1", "::1", or the Unix socket's path.
  int port = 0;            // 0 for AF_UNIX.
  // Python's repr: "('127.0.0.1', 8888)", "('::1', 8888)", "'/tmp/sock'".
  std::string ToString() const;
};

// Python's IncompleteReadError.partial: the bytes read before the stream
// ended; empty for any other status.
std::string IncompleteReadPartial(const absl::Status& status);
// Python's LimitOverrunError.consumed: how many bytes are to be consumed; 0
// for any other status.
size_t LimitOverrunConsumed(const absl::Status& status);

// Python's asyncio.StreamReader. A copyable handle; copies share the stream.
class StreamReader {
 public:
  // Python's StreamReader(limit=limit): a reader fed by FeedData/FeedEof (a
  // connection's reader comes from OpenConnection or a server). Misuse
  // (ValueError) when `limit` is 0.
  explicit StreamReader(size_t limit = kDefaultStreamLimit);

  // Python's read(n=-1): up to `n` bytes as soon as any are there (or the
  // stream ended: ""); with n < 0, everything up to the end of the stream.
  Coroutine<absl::StatusOr<std::string>> Read(int64_t n = -1);
  // Python's readline(): see the top of this file.
  Coroutine<absl::StatusOr<std::string>> ReadLine();
  // Python's readexactly(n): `n` bytes, or IncompleteReadError at the end.
  Coroutine<absl::StatusOr<std::string>> ReadExactly(size_t n);
  // Python's readuntil(separator=b'\n'). `separator` must stay valid until
  // the await completes; misuse (ValueError) when it is empty.
  Coroutine<absl::StatusOr<std::string>> ReadUntil(
      absl::string_view separator = "\n");
  // Python's at_eof(): the stream ended and the buffer is empty.
  bool AtEof() const;

  // Python's feed_data(data), feed_eof(), set_exception(exc) and
  // exception(): what a transport (or a test) gives the reader.
  void FeedData(absl::string_view data);
  void FeedEof();
  void SetException(absl::Status error);
  absl::Status Exception() const;

 private:
  friend class StreamWriter;
  friend class internal::StreamTransport;
  explicit StreamReader(std::shared_ptr<internal::StreamBuffer> buffer)
      : buffer_(std::move(buffer)) {}

  std::shared_ptr<internal::StreamBuffer> buffer_;
};

// Python's asyncio.StreamWriter, over a connection's transport. A copyable
// handle; copies share the connection.
class StreamWriter {
 public:
  // Python's write(data): sends or buffers a copy of `data`. Dropped once the
  // connection is lost; misuse (RuntimeError) after WriteEof().
  void Write(absl::string_view data);
  // Python's write_eof(): shuts the sending side down once the buffer is
  // sent; can_write_eof() is true for sockets.
  void WriteEof();
  bool CanWriteEof() const { return true; }
  // Python's drain(): waits while the write buffer is above the high-water
  // mark. The reader's error, or ConnectionResetError("Connection lost") once
  // the connection is closed or lost.
  Coroutine<absl::Status> Drain();
  // Python's close(): see the top of this file. Idempotent.
  void Close();
  // Python's is_closing(): Close() was called or the connection was lost.
  bool IsClosing() const;
  // Python's wait_closed(): waits until the socket is closed; the error that
  // lost the connection, if one did.
  Coroutine<absl::Status> WaitClosed();
  // Python's get_extra_info(name): "peername" and "sockname"; nullopt for
  // any other name (Python's default None).
  std::optional<SocketAddress> GetExtraInfo(absl::string_view name) const;
  // Python's transport.set_write_buffer_limits(high, low) and
  // get_write_buffer_size(). Misuse (ValueError) when high < low.
  void SetWriteBufferLimits(size_t high, size_t low);
  size_t GetWriteBufferSize() const;

 private:
  friend class internal::StreamTransport;
  explicit StreamWriter(std::shared_ptr<internal::StreamTransport> transport)
      : transport_(std::move(transport)) {}

  std::shared_ptr<internal::StreamTransport> transport_;
};

// What OpenConnection gives: `auto [reader, writer] = *std::move(conn);`.
using StreamPair = std::pair<StreamReader, StreamWriter>;

// What a server runs for each connection it accepts, as a task of its own
// (Python's client_connected_cb, a coroutine function).
using ClientConnected =
    std::function<Coroutine<void>(StreamReader, StreamWriter)>;

// Python's asyncio.Server. A copyable handle; copies share the server.
class Server {
 public:
  // Python's sockets: the addresses the server listens on (empty once
  // closed).
  std::vector<SocketAddress> Sockets() const;
  // Python's is_serving().
  bool IsServing() const;
  // Python's serve_forever(): waits until the server is closed, by Close()
  // or by cancelling this await; then closes it, waits for its connections
  // to end, and throws CancelledError, as Python raises it. Misuse
  // (RuntimeError) when already serving forever, or closed.
  Coroutine<void> ServeForever();
  // Python's close(): stops listening; connections stay open. Idempotent.
  void Close();
  // Python's close_clients() (3.13): closes every open connection.
  void CloseClients();
  // Python's wait_closed(): waits until the server is closed and every
  // connection it accepted has closed.
  Coroutine<void> WaitClosed();

 private:
  friend class internal::ServerState;
  explicit Server(std::shared_ptr<internal::ServerState> state)
      : state_(std::move(state)) {}

  std::shared_ptr<internal::ServerState> state_;
};

namespace internal {
// StartServer and StartUnixServer, once the handler is a ClientConnected.
Coroutine<absl::StatusOr<Server>> StartTcpServer(ClientConnected handler,
                                                 absl::string_view host,
                                                 int port, size_t limit,
                                                 int backlog);
Coroutine<absl::StatusOr<Server>> StartUnixServer(ClientConnected handler,
                                                  absl::string_view path,
                                                  size_t limit, int backlog);
}  // namespace internal

// Python's asyncio.open_connection(host, port, limit=limit): connects to the
// first address of `host` that accepts (IPv4 or IPv6). The strings must stay
// valid until the await completes.
Coroutine<absl::StatusOr<StreamPair>> OpenConnection(
    absl::string_view host, int port, size_t limit = kDefaultStreamLimit);
// Python's asyncio.open_unix_connection(path, limit=limit).
Coroutine<absl::StatusOr<StreamPair>> OpenUnixConnection(
    absl::string_view path, size_t limit = kDefaultStreamLimit);
// Python's open_connection(sock=sock): streams over a connected stream
// socket, which they now own (made non-blocking). Not a coroutine: nothing
// to wait for.
StreamPair OpenConnectionOnSocket(int fd, size_t limit = kDefaultStreamLimit);

// Python's asyncio.start_server(handler, host, port, limit=limit,
// backlog=100): listens on every address of `host` ("" for all interfaces;
// port 0 for a free one, per address) and starts serving.
//
// `handler` is a function or a lambda (a capturing lambda is copied into the
// server, which calls it for each connection). With g++ 12, a lambda written
// inside the `co_await StartServer(...)` must capture by reference only (a
// closure with a non-trivial destructor there is miscompiled); name it first
// otherwise.
template <typename Handler>
Coroutine<absl::StatusOr<Server>> StartServer(
    Handler handler, absl::string_view host, int port,
    size_t limit = kDefaultStreamLimit, int backlog = 100) {
  return internal::StartTcpServer(ClientConnected(std::move(handler)), host,
                                  port, limit, backlog);
}
// Python's asyncio.start_unix_server(handler, path): replaces a stale socket
// file at `path`, and removes it when the server closes (3.13's
// cleanup_socket).
template <typename Handler>
Coroutine<absl::StatusOr<Server>> StartUnixServer(
    Handler handler, absl::string_view path, size_t limit = kDefaultStreamLimit,
    int backlog = 100) {
  return internal::StartUnixServer(ClientConnected(std::move(handler)), path,
                                   limit, backlog);
}

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_STREAMS_H_
