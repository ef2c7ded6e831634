// What asyncio/streams.h is built on: the reader's buffer, the socket
// transport (Python's _SelectorSocketTransport with StreamReaderProtocol's
// part folded in) and the server's state (Python's base_events.Server).
//
// Ownership: a StreamTransport owns its socket and its reader's buffer;
// StreamReader and StreamWriter handles share it (a reader's handle aliases
// the buffer inside it). The loop's reader and writer callbacks point at the
// transport without owning it (the transport removes them when it goes); a
// transport closed with data left to send owns itself until the data is sent.
// A transport accepted by a server shares the ServerState, so a server lives
// while its connections do.
//
// Thread-safety: the loop's thread only.

#ifndef PYCONC_ASYNCIO_INTERNAL_STREAMS_H_
#define PYCONC_ASYNCIO_INTERNAL_STREAMS_H_

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "asyncio/coroutine.h"
#include "asyncio/future.h"
#include "asyncio/internal/wait_list.h"
#include "asyncio/loop.h"
#include "asyncio/streams.h"

namespace pyconc::asyncio::internal {

// Python's StreamReader state: the buffer, end of stream, the error, and the
// one task waiting for data.
class StreamBuffer {
 public:
  explicit StreamBuffer(size_t limit);
  StreamBuffer(const StreamBuffer&) = delete;
  StreamBuffer& operator=(const StreamBuffer&) = delete;

  size_t limit() const { return limit_; }
  absl::string_view data() const {
    return absl::string_view(bytes_).substr(start_);
  }
  size_t size() const { return bytes_.size() - start_; }
  bool eof() const { return eof_; }
  const absl::Status& exception() const { return exception_; }

  // Python's feed_data, feed_eof, set_exception: each wakes the waiter.
  void FeedData(absl::string_view data);
  void FeedEof();
  void SetException(absl::Status error);

  // Removes and returns the first `n` bytes (n <= size()).
  std::string Take(size_t n);
  // Drops the first `n` bytes (n <= size()).
  void Consume(size_t n);
  // Puts `bytes` back in front (a cancelled Read() returning what it took).
  void PushFront(absl::string_view bytes);
  // Python's _maybe_resume_transport: reading resumes once a read brought
  // the buffer down to the limit.
  void MaybeResumeTransport();
  // Python's _wait_for_data(what): waits until data, end of stream or an
  // error arrives. Misuse (RuntimeError) when another task already waits.
  Coroutine<void> WaitForData(const char* what);

  void set_transport(StreamTransport* transport) { transport_ = transport; }

 private:
  void WakeWaiter();

  std::string bytes_;  // The buffer is bytes_[start_..].
  size_t start_ = 0;
  const size_t limit_;
  bool eof_ = false;
  bool paused_ = false;  // Reading paused because the buffer is full.
  absl::Status exception_;
  StreamTransport* transport_ = nullptr;  // Null for a standalone reader.
  WaitList waiter_;
};

// One connected stream socket on the loop.
class StreamTransport : public std::enable_shared_from_this<StreamTransport> {
 public:
  // Takes `fd` (connected, non-blocking) and starts reading it.
  static std::shared_ptr<StreamTransport> Create(
      EventLoop& loop, int fd, size_t limit,
      std::shared_ptr<ServerState> server = nullptr);
  StreamTransport(EventLoop& loop, int fd, size_t limit,
                  std::shared_ptr<ServerState> server);
  ~StreamTransport();

  // The reader and writer handles of this connection.
  StreamPair Handles();

  void Write(absl::string_view data);
  void WriteEof();
  void Close();
  bool IsClosing() const { return closing_; }
  Coroutine<absl::Status> Drain();
  Coroutine<absl::Status> WaitClosed();
  void SetWriteBufferLimits(size_t high, size_t low);
  size_t write_buffer_size() const { return pending_.size() - sent_; }
  const std::optional<SocketAddress>& peername() const { return peername_; }
  const std::optional<SocketAddress>& sockname() const { return sockname_; }

  // Python's pause_reading() / resume_reading(), for the reader's buffer.
  void PauseReading();
  void ResumeReading();

 private:
  void StartReading();
  void StopReading();
  void OnReadable();
  void OnWritable();
  // Python's _force_close(exc): drops what is buffered, and loses the
  // connection in the next iteration.
  void ForceClose(absl::Status error);
  // Python's _call_connection_lost(exc): closes the socket and tells the
  // reader, the drain and close waiters and the server. May destroy `this`.
  void ConnectionLost(absl::Status error);
  // Python's _maybe_pause_protocol / _maybe_resume_protocol.
  void MaybePauseWriting();
  void MaybeResumeWriting();

  EventLoop* const loop_;
  int fd_;
  StreamBuffer reader_;
  std::optional<SocketAddress> peername_;
  std::optional<SocketAddress> sockname_;
  std::shared_ptr<ServerState> server_;

  std::string pending_;  // What Write() could not send yet: pending_[sent_..]
  size_t sent_ = 0;
  size_t high_water_ = 64 * 1024;
  size_t low_water_ = 16 * 1024;
  bool writing_paused_ = false;  // Above the high-water mark: Drain waits.
  bool reading_ = false;         // The loop's reader is registered.
  bool reading_paused_ = false;  // PauseReading() removed it.
  bool writer_registered_ = false;
  bool closing_ = false;
  bool eof_written_ = false;  // WriteEof() was called.
  bool lost_ = false;         // Python's _conn_lost: no more writes.
  bool closed_ = false;       // ConnectionLost ran: the socket is closed.
  absl::Status lost_error_;
  WaitList drain_waiters_;
  WaitList closed_waiters_;
  // Set while a closed transport still sends its buffer.
  std::shared_ptr<StreamTransport> self_;
};

// Python's base_events.Server: listening sockets, the handler, and the
// connections accepted and still open.
class ServerState : public std::enable_shared_from_this<ServerState> {
 public:
  ServerState(EventLoop& loop, ClientConnected handler, size_t limit,
              int backlog);
  ~ServerState();

  // A handle on `state`.
  static Server Handle(std::shared_ptr<ServerState> state) {
    return Server(std::move(state));
  }
  // Takes a bound, listening socket.
  void AddListener(int fd);
  // The Unix socket file to remove when the server closes, if it is still
  // the one bound (same inode).
  void set_unix_path(std::string path, ino_t inode) {
    unix_path_ = std::move(path);
    unix_inode_ = inode;
  }
  // Python's _start_serving: accepts on every listening socket.
  void StartServing();

  // Called by transports of this server.
  void Attach(StreamTransport* transport) { clients_.insert(transport); }
  void Detach(StreamTransport* transport);

  std::vector<SocketAddress> Sockets() const;
  bool IsServing() const { return serving_; }
  Coroutine<void> ServeForever();
  void Close();
  void CloseClients();
  Coroutine<void> WaitClosed();

 private:
  void OnAcceptable(int listener);
  void StopListening();
  void WakeClosedWaiters();

  EventLoop* const loop_;
  const ClientConnected handler_;
  const size_t limit_;
  const int backlog_;
  std::vector<int> listeners_;
  bool closed_ = false;  // Python's `_sockets is None`.
  bool serving_ = false;
  std::string unix_path_;
  ino_t unix_inode_ = 0;
  absl::flat_hash_set<StreamTransport*> clients_;
  std::optional<Future<void>> serving_forever_;
  std::optional<TimerHandle> accept_retry_;
  WaitList closed_waiters_;
};

// SocketAddress of a sockaddr; nullopt for a family it does not know.
std::optional<SocketAddress> ToSocketAddress(const sockaddr* address,
                                             socklen_t length);

}  // namespace pyconc::asyncio::internal

#endif  // PYCONC_ASYNCIO_INTERNAL_STREAMS_H_
