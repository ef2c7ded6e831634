#include "tests/threading/stocks/scripted_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/errors.h"

namespace pyconc::stocks::testing {
namespace {

constexpr size_t kMaxRequestHead = 64 << 10;

// Reads until the end of the request head, EOF, an error or the size bound.
void ReadRequestHead(int fd) {
  std::string head;
  char buffer[4096];
  while (head.find("\r\n\r\n") == std::string::npos &&
         head.size() < kMaxRequestHead) {
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    head.append(buffer, static_cast<size_t>(n));
  }
}

void WriteAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n =
        send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ScriptedServer>> ScriptedServer::Start(
    std::vector<std::string> answers) {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) return ErrnoError(errno, "socket");
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listener, 16) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) !=
          0) {
    const int error = errno;
    close(listener);
    return ErrnoError(error, "listen on 127.0.0.1");
  }
  return std::unique_ptr<ScriptedServer>(new ScriptedServer(
      listener, ntohs(address.sin_port), std::move(answers)));
}

ScriptedServer::ScriptedServer(int listener, int port,
                               std::vector<std::string> answers)
    : listener_(listener), port_(port), answers_(std::move(answers)) {
  thread_ = std::thread([this] { Serve(); });
}

ScriptedServer::~ScriptedServer() {
  // Wakes accept() with an error; the serving thread then returns.
  shutdown(listener_, SHUT_RDWR);
  thread_.join();
  close(listener_);
}

std::string ScriptedServer::base_url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

void ScriptedServer::Serve() {
  size_t next = 0;
  for (;;) {
    const int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    ReadRequestHead(fd);
    if (next < answers_.size()) WriteAll(fd, answers_[next++]);
    shutdown(fd, SHUT_WR);
    close(fd);
  }
}

}  // namespace pyconc::stocks::testing
