#include "threading/stocks/scraper.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "threading/stocks/server.h"
#include "threading/thread/thread.h"

namespace pyconc::stocks {
namespace {

using ::testing::DoubleEq;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

std::vector<std::string> Tickers(int count) {
  std::vector<std::string> symbols;
  for (int i = 1; i <= count; ++i) {
    symbols.push_back(absl::StrFormat("T%03d", i));
  }
  return symbols;
}

std::unique_ptr<QuoteServer> StartServer(QuoteServerOptions options) {
  absl::StatusOr<std::unique_ptr<QuoteServer>> server =
      QuoteServer::Start(options);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

// Every test runs in each mode.
class ScrapeTest : public ::testing::TestWithParam<Mode> {
 protected:
  ScrapeOptions Options(const QuoteServer& server, int workers) const {
    return {.url_template = server.UrlTemplate(),
            .mode = GetParam(),
            .workers = workers,
            .fetch = {.timeout = absl::Seconds(10),
                      .backoff = absl::Milliseconds(1)}};
  }
};

TEST_P(ScrapeTest, ParsesEveryPriceInOrder) {
  std::unique_ptr<QuoteServer> server =
      StartServer({.delay = absl::Milliseconds(1)});
  ASSERT_NE(server, nullptr);
  const std::vector<std::string> symbols = {"AAPL", "MSFT", "BRK.B", "GOOGL",
                                            "T001", "T002", "T003"};
  absl::StatusOr<std::vector<Quote>> quotes =
      Scrape(symbols, Options(*server, 3));
  ASSERT_TRUE(quotes.ok()) << quotes.status();
  ASSERT_EQ(quotes->size(), symbols.size());
  for (size_t i = 0; i < symbols.size(); ++i) {
    const Quote& quote = (*quotes)[i];
    const QuoteFields expected = ExpectedQuote(symbols[i]);
    EXPECT_EQ(quote.symbol, symbols[i]);
    EXPECT_TRUE(quote.status.ok()) << quote.symbol << ": " << quote.status;
    EXPECT_DOUBLE_EQ(quote.price, expected.price) << quote.symbol;
    EXPECT_THAT(quote.change, Optional(DoubleEq(*expected.change)));
    EXPECT_EQ(quote.attempts, 1);
  }
}

TEST_P(ScrapeTest, EveryFailureGetsItsOwnQuoteAndTheOthersSucceed) {
  std::unique_ptr<QuoteServer> server =
      StartServer({.delay = absl::Milliseconds(1)});
  ASSERT_NE(server, nullptr);
  ScrapeOptions options = Options(*server, 4);
  options.fetch.timeout = absl::Seconds(1);
  const std::vector<std::string> symbols = {"AAPL",    "ERR500", "FLAKY",
                                            "MISSING", "SLOW",   "NOPRICE",
                                            "BADHTML", "MSFT"};
  absl::StatusOr<std::vector<Quote>> quotes = Scrape(symbols, options);
  ASSERT_TRUE(quotes.ok()) << quotes.status();
  std::vector<absl::StatusCode> codes;
  for (const Quote& quote : *quotes) codes.push_back(quote.status.code());
  using Code = absl::StatusCode;
  EXPECT_THAT(codes, ElementsAre(Code::kOk, Code::kUnavailable, Code::kOk,
                                 Code::kNotFound, Code::kDeadlineExceeded,
                                 Code::kNotFound, Code::kDataLoss, Code::kOk));
  EXPECT_EQ((*quotes)[1].status.message(), "HTTP 500 after 3 attempts");
  EXPECT_EQ((*quotes)[2].attempts, 2);  // FLAKY: cured by the retry.
  EXPECT_EQ((*quotes)[3].attempts, 1);  // MISSING: 404 is not retried.
  EXPECT_THAT((*quotes)[4].status.message(), HasSubstr("TimeoutError"));
  EXPECT_GE((*quotes)[4].fetch_time, absl::Seconds(3));  // 3 attempts.
  EXPECT_THAT((*quotes)[5].status.message(), HasSubstr("no price"));
  EXPECT_THAT((*quotes)[6].status.message(), HasSubstr("malformed HTML"));
  EXPECT_DOUBLE_EQ((*quotes)[7].price, ExpectedQuote("MSFT").price);
}

TEST_P(ScrapeTest, UnknownHostIsReportedPerSymbol) {
  absl::StatusOr<std::vector<Quote>> quotes = Scrape(
      {"AAPL", "MSFT"},
      {.url_template = "http://quotes.invalid/{symbol}", .mode = GetParam()});
  ASSERT_TRUE(quotes.ok()) << quotes.status();
  for (const Quote& quote : *quotes) {
    EXPECT_EQ(quote.status.code(), absl::StatusCode::kNotFound);
    EXPECT_THAT(quote.status.message(), HasSubstr("unknown host"));
  }
}

TEST_P(ScrapeTest, ProgressIsReportedOncePerSymbolOneAtATime) {
  std::unique_ptr<QuoteServer> server =
      StartServer({.delay = absl::Milliseconds(1)});
  ASSERT_NE(server, nullptr);
  ScrapeOptions options = Options(*server, 4);
  std::vector<int> done_counts;  // Unguarded: the calls are serialized.
  options.on_done = [&done_counts](const Quote&, int done, int total) {
    EXPECT_EQ(total, 10);
    done_counts.push_back(done);
  };
  ASSERT_TRUE(Scrape(Tickers(10), options).ok());
  EXPECT_THAT(done_counts, ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
}

// The server holds requests until `workers` are in flight at once: the scrape
// finishes only if they overlap, and never more than `workers` overlap.
TEST_P(ScrapeTest, RequestsOverlapUpToTheWorkers) {
  if (GetParam() == Mode::kSequential) GTEST_SKIP() << "nothing overlaps";
  constexpr int kWorkers = 4;
  std::unique_ptr<QuoteServer> server =
      StartServer({.delay = absl::Milliseconds(5), .gather = kWorkers});
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::vector<Quote>> quotes =
      Scrape(Tickers(12), Options(*server, kWorkers));
  ASSERT_TRUE(quotes.ok()) << quotes.status();
  for (const Quote& quote : *quotes) EXPECT_TRUE(quote.status.ok());
  EXPECT_EQ(server->MaxInFlight(), kWorkers);
}

TEST_P(ScrapeTest, OneThreadPerSymbolWhenWorkersAreMany) {
  if (GetParam() == Mode::kSequential) GTEST_SKIP() << "nothing overlaps";
  std::unique_ptr<QuoteServer> server =
      StartServer({.delay = absl::Milliseconds(5), .gather = 6});
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(Scrape(Tickers(6), Options(*server, 50)).ok());
  EXPECT_EQ(server->MaxInFlight(), 6);
}

TEST_P(ScrapeTest, SequentialNeverOverlaps) {
  if (GetParam() != Mode::kSequential) GTEST_SKIP();
  std::unique_ptr<QuoteServer> server =
      StartServer({.delay = absl::Milliseconds(5)});
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(Scrape(Tickers(5), Options(*server, 4)).ok());
  EXPECT_EQ(server->MaxInFlight(), 1);
}

TEST_P(ScrapeTest, NoThreadIsLeftRunningAfterATimeout) {
  std::unique_ptr<QuoteServer> server =
      StartServer({.delay = absl::Milliseconds(1)});
  ASSERT_NE(server, nullptr);
  ScrapeOptions options = Options(*server, 3);
  options.fetch.timeout = absl::Seconds(1);
  options.fetch.max_retries = 0;
  const int before = threading::ActiveCount();
  absl::StatusOr<std::vector<Quote>> quotes =
      Scrape({"SLOW", "AAPL", "SLOW", "MSFT"}, options);
  ASSERT_TRUE(quotes.ok()) << quotes.status();
  EXPECT_EQ((*quotes)[0].status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ((*quotes)[2].status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE((*quotes)[1].status.ok());
  EXPECT_EQ(threading::ActiveCount(), before);
}

INSTANTIATE_TEST_SUITE_P(Modes, ScrapeTest,
                         ::testing::Values(Mode::kSequential, Mode::kThreads,
                                           Mode::kPool),
                         [](const ::testing::TestParamInfo<Mode>& info) {
                           return std::string(ModeName(info.param));
                         });

TEST(CheckOptionsTest, RefusesWhatCannotWork) {
  const ScrapeOptions good = {.url_template = "http://127.0.0.1:1/q/{symbol}"};
  EXPECT_TRUE(CheckOptions(good).ok());
  ScrapeOptions options = good;
  options.url_template = "http://127.0.0.1:1/q/AAPL";
  EXPECT_THAT(CheckOptions(options).message(), HasSubstr("has no {symbol}"));
  options.url_template = "ftp://host/{symbol}";
  EXPECT_EQ(CheckOptions(options).code(), absl::StatusCode::kInvalidArgument);
  options = good;
  options.price_xpath = "//[";
  EXPECT_THAT(CheckOptions(options).message(), HasSubstr("bad XPath"));
  options = good;
  options.workers = 0;
  EXPECT_EQ(CheckOptions(options).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Scrape({"AAPL"}, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ModeTest, NamesRoundTrip) {
  for (Mode mode : {Mode::kSequential, Mode::kThreads, Mode::kPool}) {
    EXPECT_EQ(*ParseMode(ModeName(mode)), mode);
  }
  EXPECT_EQ(ParseMode("processes").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(QuoteUrlTest, ReplacesTheSymbol) {
  EXPECT_EQ(QuoteUrl("http://h/q/{symbol}?s={symbol}", "BRK B"),
            "http://h/q/BRK%20B?s=BRK%20B");
}

}  // namespace
}  // namespace pyconc::stocks
