// Connection and Pipe: Python's multiprocessing.Pipe() for C++.
//
// Pipe() answers two connected Connection objects. Whatever one end Send()s,
// the other Recv()s, whole and in order, across processes: a Connection given
// to a Process as an argument arrives in the child as a working Connection on
// the same channel. Values are serialized with cereal, so any type with a
// cereal `serialize` (or `save`/`load`) crosses, as anything picklable does in
// Python:
//
//   a, b = Pipe()                  ->  auto [a, b] = Pipe();
//   a.send([1, 2]); b.recv()       ->  a.Send(std::vector{1, 2});
//                                      b.Recv<std::vector<int>>();
//   b.poll(0.5)                    ->  b.Poll(absl::Milliseconds(500))
//   r, w = Pipe(duplex=False)      ->  auto [r, w] = Pipe(/*duplex=*/false);
//
// Errors are values (absl::Status), with the message naming Python's
// exception: when every copy of the peer end is closed (the peer process
// exited), Recv() answers "EOFError" (code kOutOfRange) instead of hanging and
// Send() answers "BrokenPipeError" (kAborted); bytes that do not hold the
// requested type answer "pickle.UnpicklingError" (kDataLoss). Using a closed
// Connection, or the wrong end of a one-way pipe, is misuse (Python's
// OSError), which aborts.
//
// Thread-safety: Send, Recv and Poll may be called from several threads at
// once; each message is sent and received whole. Several processes may Send
// on copies of one end too, for messages under 64 KiB (each goes to the kernel
// in one write, which it keeps whole); for bigger messages, or several
// receiving processes, use a Queue, as Python warns for its Connection.
// Close() and destruction must not race with other calls. A message sent
// happens before its receipt.
// Fork-safety: a Connection is a socket descriptor; nothing here forks. It
// cannot travel inside a message, only as a Process argument.

#ifndef PYCONC_MULTIPROCESSING_PROCESS_CONNECTION_H_
#define PYCONC_MULTIPROCESSING_PROCESS_CONNECTION_H_

#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cereal/cereal.hpp"
#include "multiprocessing/process/internal/serialize.h"

namespace pyconc::multiprocessing {

// One end of a Pipe (Python's multiprocessing.connection.Connection).
class Connection {
 public:
  // A closed connection; the other constructors are Pipe()'s.
  Connection() = default;
  Connection(internal::UniqueFd fd, bool readable, bool writable);
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() = default;

  // Python's send(obj): serializes `value` and writes it as one message.
  // Answers BrokenPipeError once the peer is closed, or the serialization
  // error.
  template <typename T>
  absl::Status Send(const T& value) {
    absl::StatusOr<std::string> bytes = internal::Encode(value);
    return bytes.ok() ? SendBytes(*bytes) : bytes.status();
  }

  // Python's recv(): waits for the next message and reads it as a T. Answers
  // EOFError when the peer has closed and nothing is left to read.
  template <typename T>
  absl::StatusOr<T> Recv() {
    absl::StatusOr<std::string> bytes = RecvBytes();
    if (!bytes.ok()) return bytes.status();
    return internal::Decode<T>(*bytes);
  }

  // Python's send_bytes(buf) and recv_bytes(): one message of raw bytes.
  absl::Status SendBytes(std::string_view bytes);
  absl::StatusOr<std::string> RecvBytes();

  // Python's poll(timeout): whether Recv() would not block (a message, or EOF,
  // is waiting); waits up to `timeout` for one. Zero answers at once.
  bool Poll(absl::Duration timeout = absl::ZeroDuration()) const;

  // Python's close(). Closing twice is harmless, as in Python.
  void Close();
  // Python's `closed`, `readable`, `writable` and fileno().
  bool closed() const { return !fd_.valid(); }
  bool readable() const { return readable_; }
  bool writable() const { return writable_; }
  int fileno() const { return fd_.get(); }

  // cereal: a Connection crosses to a child process as a Process argument.
  template <typename Archive>
  void save(Archive& archive) const {
    archive(internal::ExportFd(fd_.get()), readable_, writable_);
  }
  template <typename Archive>
  void load(Archive& archive) {
    int index = -1;
    archive(index, readable_, writable_);
    fd_ = internal::ImportFd(index);
  }

 private:
  void CheckUsable(bool for_writing) const;

  internal::UniqueFd fd_;
  bool readable_ = false;
  bool writable_ = false;
  // Keep each message whole when several threads send or receive.
  absl::Mutex send_mu_;
  absl::Mutex recv_mu_;
};

namespace connection {

// Python's multiprocessing.connection.wait(object_list, timeout): waits until
// at least one of the descriptors is ready, or `timeout` passes, and answers
// the ready ones, in the order given (empty at the timeout). The objects are
// what Python passes: a Connection's fileno() (ready when Recv() would not
// block) or a Process's sentinel() (ready when it has ended).
//
//   for r in wait([conn, p.sentinel]):   ->  for (int r : connection::Wait(
//                                                 {conn.fileno(),
//                                                 p.sentinel()}))
std::vector<int> Wait(const std::vector<int>& object_list,
                      absl::Duration timeout = absl::InfiniteDuration());

}  // namespace connection

// Python's multiprocessing.Pipe(duplex): two connected ends. With duplex, both
// ends send and receive; without, the first only receives and the second only
// sends. Throws std::system_error when the kernel refuses (no descriptor left),
// as Python's raises OSError.
std::pair<Connection, Connection> Pipe(bool duplex = true);

namespace internal {
// Pipe() for pyconc's own code, which answers statuses: the OSError with the
// errno's text when the kernel refuses.
absl::StatusOr<std::pair<Connection, Connection>> TryPipe(bool duplex = true);
}  // namespace internal

}  // namespace pyconc::multiprocessing

#endif  // PYCONC_MULTIPROCESSING_PROCESS_CONNECTION_H_
