// A raw-socket HTTP server for tests: it answers each request with the next of
// a fixed list of byte strings, exactly as given (malformed ones included), so
// a test can make a client meet answers no real server library would send.
//
// It listens on 127.0.0.1 on a port the kernel picks. Each connection gets one
// answer: the server reads the request head (up to the blank line, at most 64
// KiB), writes the next scripted answer, and closes the connection. When the
// script is used up, connections are closed without an answer.
//
// Thread-safety: Start() and the destructor belong to one thread; the server's
// own thread does the serving.

#ifndef PYCONC_TESTS_THREADING_STOCKS_SCRIPTED_SERVER_H_
#define PYCONC_TESTS_THREADING_STOCKS_SCRIPTED_SERVER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace pyconc::stocks::testing {

class ScriptedServer {
 public:
  // Listens and serves `answers`, one per connection, in order.
  static absl::StatusOr<std::unique_ptr<ScriptedServer>> Start(
      std::vector<std::string> answers);

  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;
  // Stops serving and joins the server's thread.
  ~ScriptedServer();

  // "http://127.0.0.1:<port>".
  std::string base_url() const;

 private:
  ScriptedServer(int listener, int port, std::vector<std::string> answers);
  void Serve();

  const int listener_;
  const int port_;
  const std::vector<std::string> answers_;
  std::thread thread_;
};

}  // namespace pyconc::stocks::testing

#endif  // PYCONC_TESTS_THREADING_STOCKS_SCRIPTED_SERVER_H_
