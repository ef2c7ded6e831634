// asyncio's HTTP client against the threaded scraper's embedded quote server
// and a scripted raw-socket server: pages, redirects, the fetcher's errors and
// retries, timeouts, truncated answers, the size limit, cancellation of a GET
// in flight, and many GETs at once on one thread.
#include <dirent.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "asyncio/errors.h"
#include "asyncio/gather.h"
#include "asyncio/http/client.h"
#include "asyncio/loop.h"
#include "asyncio/run.h"
#include "asyncio/sleep.h"
#include "asyncio/task.h"
#include "asyncio/timeouts.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/threading/stocks/scripted_server.h"
#include "threading/stocks/server.h"

namespace pyconc::asyncio::http {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

int OpenDescriptors() {
  int count = 0;
  DIR* dir = opendir("/proc/self/fd");
  while (readdir(dir) != nullptr) ++count;
  closedir(dir);
  return count;
}

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<stocks::QuoteServer>> server =
        stocks::QuoteServer::Start(
            {.delay = absl::ZeroDuration(), .slow_delay = absl::Seconds(30)});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::string Url(const std::string& symbol) const {
    return absl::StrCat(server_->base_url(), "/quote/", symbol);
  }

  std::unique_ptr<stocks::QuoteServer> server_;
};

TEST_F(HttpTest, GetsAPageAndFollowsRedirects) {
  asyncio::Run([this]() -> Coroutine<void> {
    Client client({.max_retries = 0});
    absl::StatusOr<Page> page = co_await client.Get(Url("AAPL"));
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) co_return;
    EXPECT_EQ(page->http_status, 200);
    EXPECT_EQ(page->attempts, 1);
    EXPECT_EQ(page->body, stocks::QuotePage("AAPL"));
    absl::StatusOr<Page> moved =
        co_await client.Get(absl::StrCat(server_->base_url(), "/q/MSFT"));
    EXPECT_TRUE(moved.ok()) << moved.status();
    if (moved.ok()) {
      EXPECT_EQ(moved->url, Url("MSFT"));
    }
    EXPECT_EQ(client.InFlight(), 0);
  }());
}

// The threaded fetcher's wording (fetch_test.cc): a 500 is retried, then
// reported; a 503 cured by a retry; a 404 is not retried.
TEST_F(HttpTest, ServerErrorsAreRetriedAsTheFetcherDoes) {
  asyncio::Run([this]() -> Coroutine<void> {
    Client client({.max_retries = 2, .backoff = absl::Milliseconds(1)});
    absl::StatusOr<Page> failed = co_await client.Get(Url("ERR500"));
    EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(failed.status().message(), "HTTP 500 after 3 attempts");
    EXPECT_EQ(server_->Requests("ERR500"), 3);

    absl::StatusOr<Page> cured = co_await client.Get(Url("FLAKY"));
    EXPECT_TRUE(cured.ok()) << cured.status();
    if (cured.ok()) {
      EXPECT_EQ(cured->attempts, 2);
    }

    absl::StatusOr<Page> missing = co_await client.Get(Url("MISSING"));
    EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(missing.status().message(), "HTTP 404");
    EXPECT_EQ(server_->Requests("MISSING"), 1);
  }());
}

TEST_F(HttpTest, SlowServerTimesOutAndIsRetried) {
  asyncio::Run([this]() -> Coroutine<void> {
    Client client({.timeout = absl::Milliseconds(100),
                   .max_retries = 1,
                   .backoff = absl::Milliseconds(1)});
    absl::StatusOr<Page> page = co_await client.Get(Url("SLOW"));
    EXPECT_EQ(page.status().code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_EQ(page.status().message(),
              "TimeoutError: no complete answer within 100ms after 2 "
              "attempts");
    EXPECT_EQ(server_->Requests("SLOW"), 2);
  }());
}

TEST(HttpWithoutServerTest, BadUrlsAndUnknownHostsFailAtOnce) {
  asyncio::Run([]() -> Coroutine<void> {
    Client client;
    absl::StatusOr<Page> unknown =
        co_await client.Get("http://quotes.invalid/quote/AAPL");
    EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(unknown.status().message(), "unknown host: quotes.invalid");
    absl::StatusOr<Page> malformed = co_await client.Get("not a url");
    EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInvalidArgument);
    absl::StatusOr<Page> ftp = co_await client.Get("ftp://127.0.0.1/x");
    EXPECT_EQ(ftp.status().code(), absl::StatusCode::kInvalidArgument);
  }());
}

TEST(HttpWithoutServerTest, RefusedConnectionIsUnavailable) {
  // A listener that is closed at once leaves a port nobody listens on.
  absl::StatusOr<std::unique_ptr<stocks::QuoteServer>> server =
      stocks::QuoteServer::Start();
  ASSERT_TRUE(server.ok());
  const std::string url = (*server)->UrlTemplate();
  server->reset();
  asyncio::Run([&url]() -> Coroutine<void> {
    Client client({.max_retries = 1, .backoff = absl::Milliseconds(1)});
    absl::StatusOr<Page> page = co_await client.Get(url);
    EXPECT_EQ(page.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(page.status().message(), StartsWith("connection failed"));
    EXPECT_THAT(page.status().message(), HasSubstr("after 2 attempts"));
  }());
}

// An answer cut short of its Content-Length is retried, then reported; a
// body over the limit is refused and not retried.
TEST(HttpScriptedTest, TruncatedAnswerAndSizeLimit) {
  absl::StatusOr<std::unique_ptr<stocks::testing::ScriptedServer>> server =
      stocks::testing::ScriptedServer::Start({
          "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
          "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nand this",
          "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" +
              std::string(2000, 'x'),
      });
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string url = (*server)->base_url() + "/quote/AAPL";
  asyncio::Run([&url]() -> Coroutine<void> {
    Client client({.max_retries = 1, .backoff = absl::Milliseconds(1)});
    absl::StatusOr<Page> cut = co_await client.Get(url);
    EXPECT_EQ(cut.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(cut.status().message(), StartsWith("connection failed"));
    EXPECT_THAT(cut.status().message(), HasSubstr("after 2 attempts"));
    Client small({.max_retries = 1, .max_body_bytes = 1000});
    absl::StatusOr<Page> big = co_await small.Get(url);
    EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(big.status().message(), "page larger than 1000 bytes");
  }());
}

// A GET cancelled in flight (here by WaitFor's timeout, while SLOW holds the
// answer) leaves the multi handle at once; the client and its connections
// go away without a descriptor or a byte left behind (ASan checks leaks).
TEST(HttpCancelTest, CancelledGetLeavesNothingBehind) {
  stocks::InitHttp();
  const int before = OpenDescriptors();
  absl::StatusOr<std::unique_ptr<stocks::QuoteServer>> server =
      stocks::QuoteServer::Start(
          {.delay = absl::ZeroDuration(), .slow_delay = absl::Seconds(30)});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string base = (*server)->base_url();
  asyncio::Run([&base]() -> Coroutine<void> {
    Client client;
    absl::StatusOr<absl::StatusOr<Page>> page = co_await WaitFor(
        client.Get(base + "/quote/SLOW"), absl::Milliseconds(50));
    EXPECT_EQ(page.status().code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_EQ(client.InFlight(), 0);
    // The client still works after the cancellation.
    absl::StatusOr<Page> next = co_await client.Get(base + "/quote/AAPL");
    EXPECT_TRUE(next.ok()) << next.status();

    Task<absl::StatusOr<Page>> task =
        GetRunningLoop().CreateTask(client.Get(base + "/quote/SLOW"));
    co_await Sleep(absl::ZeroDuration());
    EXPECT_EQ(client.InFlight(), 1);
    task.Cancel();
    try {
      absl::StatusOr<Page> got = co_await task;
      ADD_FAILURE() << "the GET was not cancelled: " << got.status();
    } catch (const CancelledError&) {
    }
    EXPECT_EQ(client.InFlight(), 0);
  }());
  server->reset();  // Joins its threads, closes its sockets.
  EXPECT_EQ(OpenDescriptors(), before);
}

// Many GETs at once on one thread: the server holds the first 50 until 50 are
// in flight together, which a client that did one at a time never reaches.
TEST(HttpManyTest, ManyGetsOverlapOnOneThread) {
  absl::StatusOr<std::unique_ptr<stocks::QuoteServer>> server =
      stocks::QuoteServer::Start({.delay = absl::ZeroDuration(),
                                  .threads = 64,
                                  .gather = 50,
                                  .gather_timeout = absl::Seconds(60)});
  ASSERT_TRUE(server.ok()) << server.status();
  stocks::QuoteServer& quotes = **server;
  asyncio::Run([&quotes]() -> Coroutine<void> {
    Client client({.timeout = absl::Seconds(60)});
    std::vector<Task<absl::StatusOr<Page>>> gets;
    for (int i = 0; i < 200; ++i) {
      gets.push_back(GetRunningLoop().CreateTask(
          client.Get(absl::StrCat(quotes.base_url(), "/quote/S", i))));
    }
    std::vector<absl::StatusOr<Page>> pages = co_await Gather(gets);
    for (int i = 0; i < 200; ++i) {
      EXPECT_TRUE(pages[i].ok()) << pages[i].status();
      if (pages[i].ok()) {
        EXPECT_EQ(pages[i]->body, stocks::QuotePage(absl::StrCat("S", i)));
      }
    }
  }());
  EXPECT_GE(quotes.MaxInFlight(), 50);
}

TEST(HttpDeathTest, ClientMustOutliveItsGets) {
  EXPECT_DEATH(asyncio::Run([]() -> Coroutine<void> {
                 auto client = std::make_unique<Client>();
                 Task<absl::StatusOr<Page>> task = GetRunningLoop().CreateTask(
                     client->Get("http://127.0.0.1:9/quote/AAPL"));
                 co_await Sleep(absl::ZeroDuration());
                 client.reset();
               }()),
               "RuntimeError.*destroyed while 1 Get\\(s\\) are in progress "
               "\\(1 transfer\\(s\\) in flight\\)");
}

// Between attempts a Get has no transfer but still uses its Client when the
// pause ends: destroying the Client then is the same misuse, not a use after
// free.
TEST_F(HttpTest, ClientMustOutliveAGetPausingBeforeARetry) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      asyncio::Run([this]() -> Coroutine<void> {
        auto client = std::make_unique<Client>(
            Options{.max_retries = 1, .backoff = absl::Hours(1)});
        Task<absl::StatusOr<Page>> task =
            GetRunningLoop().CreateTask(client->Get(Url("ERR500")));
        // Until the 500 has come back and the Get pauses for an hour.
        while (server_->Requests("ERR500") < 1 || client->InFlight() > 0) {
          co_await Sleep(absl::Milliseconds(1));
        }
        client.reset();
      }()),
      "RuntimeError.*destroyed while 1 Get\\(s\\) are in progress \\(0 "
      "transfer\\(s\\) in flight\\)");
}

}  // namespace
}  // namespace pyconc::asyncio::http
