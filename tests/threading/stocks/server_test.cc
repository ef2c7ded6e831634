// The quote server under hostile clients: slowloris connections, idle
// connections and huge uploads must not keep a normal GET from being answered,
// and must cost bounded memory.

#include "threading/stocks/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "threading/stocks/fetch.h"

namespace pyconc::stocks {
namespace {

using ::testing::StartsWith;

// A raw client socket connected to the server, closed when destroyed.
class RawClient {
 public:
  explicit RawClient(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    connected_ = fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&address),
                                     sizeof(address)) == 0;
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  ~RawClient() {
    if (fd_ >= 0) close(fd_);
  }

  bool connected() const { return connected_; }

  void Send(const std::string& bytes) {
    ASSERT_EQ(send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

  // What the server sends until it closes, waiting at most `patience`.
  std::string ReadToClose(absl::Duration patience = absl::Seconds(30)) {
    std::string received;
    char buffer[4096];
    pollfd readable = {.fd = fd_, .events = POLLIN, .revents = 0};
    while (poll(&readable, 1,
                static_cast<int>(absl::ToInt64Milliseconds(patience))) > 0) {
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      received.append(buffer, static_cast<size_t>(n));
    }
    return received;
  }

 private:
  const int fd_;
  bool connected_ = false;
};

absl::StatusOr<Page> GetQuote(const QuoteServer& server) {
  // A generous bound: a server that is not starved answers at once.
  Fetcher fetcher({.timeout = absl::Seconds(20), .max_retries = 0});
  return fetcher.Get(server.base_url() + "/quote/AAPL");
}

TEST(QuoteServerTest, AnswersAGetWhileSlowlorisClientsHoldConnections) {
  // Few workers and a long request timeout: the slow clients stay connected
  // for the whole test, and outnumber the workers.
  absl::StatusOr<std::unique_ptr<QuoteServer>> server =
      QuoteServer::Start({.delay = absl::ZeroDuration(),
                          .threads = 4,
                          .request_timeout = absl::Minutes(10)});
  ASSERT_TRUE(server.ok()) << server.status();
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 100; ++i) {
    slow.push_back(std::make_unique<RawClient>((*server)->port()));
    ASSERT_TRUE(slow.back()->connected());
    slow.back()->Send("GET /quote/SLOWLORIS HTTP/1.1\r\nHost: x\r\nX-a: ");
  }
  absl::StatusOr<Page> page = GetQuote(**server);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->body, QuotePage("AAPL"));
  // None of the slow requests was ever complete, so none reached a worker.
  EXPECT_EQ((*server)->Requests("SLOWLORIS"), 0);
}

TEST(QuoteServerTest, AnswersAGetBeyondTheConnectionLimit) {
  absl::StatusOr<std::unique_ptr<QuoteServer>> server =
      QuoteServer::Start({.delay = absl::ZeroDuration(),
                          .threads = 4,
                          .max_connections = 64,
                          .request_timeout = absl::Minutes(10)});
  ASSERT_TRUE(server.ok()) << server.status();
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 1000; ++i) {
    idle.push_back(std::make_unique<RawClient>((*server)->port()));
    ASSERT_TRUE(idle.back()->connected());
  }
  absl::StatusOr<Page> page = GetQuote(**server);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->body, QuotePage("AAPL"));
}

TEST(QuoteServerTest, ClosesAConnectionThatDoesNotSendARequestInTime) {
  absl::StatusOr<std::unique_ptr<QuoteServer>> server =
      QuoteServer::Start({.delay = absl::ZeroDuration(),
                          .request_timeout = absl::Milliseconds(100)});
  ASSERT_TRUE(server.ok()) << server.status();
  RawClient slow((*server)->port());
  ASSERT_TRUE(slow.connected());
  slow.Send("GET /quote/A HTTP/1.1\r\n");
  // The server closes without an answer (rather than waiting for ever).
  EXPECT_EQ(slow.ReadToClose(), "");
}

TEST(QuoteServerTest, RefusesOversizedRequestsWithoutReadingThem) {
  absl::StatusOr<std::unique_ptr<QuoteServer>> server =
      QuoteServer::Start({.delay = absl::ZeroDuration()});
  ASSERT_TRUE(server.ok()) << server.status();
  {
    // A 512 MiB upload announced: refused before a byte of it is read.
    RawClient upload((*server)->port());
    upload.Send(
        "POST /quote/A HTTP/1.1\r\nHost: x\r\nContent-Length: 536870912\r\n"
        "\r\n");
    upload.Send(std::string(64 << 10, 'x'));
    EXPECT_THAT(upload.ReadToClose(), StartsWith("HTTP/1.1 413 "));
  }
  {
    RawClient chunked((*server)->port());
    chunked.Send(
        "POST /quote/A HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "\r\n");
    EXPECT_THAT(chunked.ReadToClose(), StartsWith("HTTP/1.1 411 "));
  }
  {
    RawClient big_head((*server)->port());
    big_head.Send("GET /quote/A HTTP/1.1\r\nX-Big: " +
                  std::string(16 << 10, 'x') + "\r\n\r\n");
    EXPECT_THAT(big_head.ReadToClose(), StartsWith("HTTP/1.1 431 "));
  }
  {
    RawClient small_post((*server)->port());
    small_post.Send(
        "POST /quote/A HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n"
        "\r\nab");
    EXPECT_THAT(small_post.ReadToClose(), StartsWith("HTTP/1.1 405 "));
  }
  absl::StatusOr<Page> page = GetQuote(**server);
  ASSERT_TRUE(page.ok()) << page.status();
}

TEST(QuoteServerTest, AnswersPipelinedRequestsOnOneConnection) {
  absl::StatusOr<std::unique_ptr<QuoteServer>> server =
      QuoteServer::Start({.delay = absl::ZeroDuration()});
  ASSERT_TRUE(server.ok()) << server.status();
  RawClient client((*server)->port());
  client.Send(
      "GET /quote/A HTTP/1.1\r\n\r\nGET /q/B HTTP/1.1\r\nConnection: close"
      "\r\n\r\n");
  const std::string answers = client.ReadToClose();
  EXPECT_THAT(answers, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(answers, ::testing::HasSubstr("HTTP/1.1 301 Moved Permanently"
                                            "\r\n"));
  EXPECT_THAT(answers, ::testing::HasSubstr("Location: /quote/B\r\n"));
}

}  // namespace
}  // namespace pyconc::stocks
