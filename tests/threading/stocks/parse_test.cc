#include "threading/stocks/parse.h"

#include <deque>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "threading/stocks/server.h"
#include "threading/thread/thread.h"

namespace pyconc::stocks {
namespace {

using ::testing::DoubleEq;
using ::testing::HasSubstr;
using ::testing::Optional;

TEST(ParseNumberTest, ReadsPricesAndChangesAsSitesWriteThem) {
  EXPECT_DOUBLE_EQ(*ParseNumber("$1,234.50"), 1234.5);
  EXPECT_DOUBLE_EQ(*ParseNumber("  187.44 USD "), 187.44);
  EXPECT_DOUBLE_EQ(*ParseNumber("+1.25 (+0.87%)"), 1.25);
  EXPECT_DOUBLE_EQ(*ParseNumber("\xE2\x88\x92"
                                "0.40 (\xE2\x88\x92"
                                "0.2%)"),
                   -0.4);
  EXPECT_DOUBLE_EQ(*ParseNumber("\xE2\x82\xAC"
                                "12"),
                   12);  // "€12"
  EXPECT_DOUBLE_EQ(*ParseNumber(".5"), 0.5);
}

TEST(ParseNumberTest, ANumberBeyondADoubleIsDataLossNotInfinity) {
  const std::string huge(400, '9');
  for (const std::string& text : {huge, "$" + huge + ".5", "-" + huge}) {
    EXPECT_EQ(ParseNumber(text).status().code(), absl::StatusCode::kDataLoss)
        << text;
  }
}

TEST(ParseNumberTest, TextWithoutDigitsIsDataLoss) {
  for (const char* text : {"", "N/A", "$", "+.", "--"}) {
    EXPECT_EQ(ParseNumber(text).status().code(), absl::StatusCode::kDataLoss)
        << text;
  }
}

TEST(ParseQuoteTest, ReadsTheQuoteServersPage) {
  for (const char* symbol : {"AAPL", "MSFT", "BRK.B", "T042"}) {
    const QuoteFields expected = ExpectedQuote(symbol);
    absl::StatusOr<QuoteFields> fields =
        ParseQuote(QuotePage(symbol), kPriceXPath, kChangeXPath);
    ASSERT_TRUE(fields.ok()) << fields.status();
    EXPECT_DOUBLE_EQ(fields->price, expected.price) << symbol;
    EXPECT_THAT(fields->change, Optional(DoubleEq(*expected.change))) << symbol;
  }
}

TEST(ParseQuoteTest, ChangeIsOptional) {
  absl::StatusOr<QuoteFields> fields =
      ParseQuote(QuotePage("AAPL"), kPriceXPath, "");
  ASSERT_TRUE(fields.ok());
  EXPECT_FALSE(fields->change.has_value());
  fields = ParseQuote(QuotePage("AAPL"), kPriceXPath, "//no-such-element");
  ASSERT_TRUE(fields.ok());
  EXPECT_FALSE(fields->change.has_value());
}

TEST(ParseQuoteTest, XPathMayComputeAString) {
  absl::StatusOr<QuoteFields> fields = ParseQuote(
      "<html><body><p id='p' data-price='$12.50'>x</p></body></html>",
      "string(//p[@id='p']/@data-price)", "");
  ASSERT_TRUE(fields.ok()) << fields.status();
  EXPECT_DOUBLE_EQ(fields->price, 12.5);
}

TEST(ParseQuoteTest, Html5TagsAreNotMalformed) {
  absl::StatusOr<QuoteFields> fields = ParseQuote(
      "<!DOCTYPE html><html><body><main><section><nav>x</nav></section>"
      "</main></body></html>",
      "//span[@class='price']", "");
  EXPECT_EQ(fields.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(fields.status().message(), HasSubstr("no price on the page"));
}

TEST(ParseQuoteTest, RepairedMarkupWithAReadablePriceIsFine) {
  absl::StatusOr<QuoteFields> fields =
      ParseQuote("<html><body><div><span class=price>$3.25</div></p></body>",
                 "//span[@class='price']", "");
  ASSERT_TRUE(fields.ok()) << fields.status();
  EXPECT_DOUBLE_EQ(fields->price, 3.25);
}

TEST(ParseQuoteTest, BrokenMarkupWithoutAPriceIsMalformedHtml) {
  absl::StatusOr<QuoteFields> fields = ParseQuote(
      "<html><body><span data-field==\"price'>$1</span <<<<div>"
      "</bodyy></ht",
      kPriceXPath, "");
  EXPECT_EQ(fields.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(fields.status().message(), HasSubstr("malformed HTML"));
}

TEST(ParseQuoteTest, EmptyPageIsMalformedHtml) {
  EXPECT_EQ(ParseQuote("", kPriceXPath, "").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(ParseQuoteTest, PriceThatIsNotANumberIsDataLoss) {
  absl::StatusOr<QuoteFields> fields =
      ParseQuote("<html><body><span class=price>N/A</span></body></html>",
                 "//span[@class='price']", "");
  EXPECT_EQ(fields.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(fields.status().message(), HasSubstr("\"N/A\" is not a number"));
}

TEST(CheckXPathTest, TellsWhyAnXPathIsBad) {
  EXPECT_TRUE(CheckXPath(kPriceXPath).ok());
  const absl::Status bad = CheckXPath("//span[@class=");
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("bad XPath"));
  EXPECT_EQ(ParseQuote(QuotePage("AAPL"), "//[", "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Many threads parse at once; under ThreadSanitizer this checks that libxml2
// is used thread-safely (its error handler is per thread).
TEST(ParseQuoteTest, ThreadsParseConcurrently) {
  constexpr int kThreads = 8;
  std::vector<std::string> symbols;
  for (int i = 0; i < kThreads; ++i) symbols.push_back("S" + std::to_string(i));
  std::vector<int> right(kThreads,
                         0);  // Not vector<bool>: its bits share words.
  std::deque<threading::Thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      bool all = true;
      for (int round = 0; round < 20; ++round) {
        absl::StatusOr<QuoteFields> good =
            ParseQuote(QuotePage(symbols[i]), kPriceXPath, kChangeXPath);
        absl::StatusOr<QuoteFields> bad =
            ParseQuote("<p><<</x", kPriceXPath, "");
        all = all && good.ok() &&
              good->price == ExpectedQuote(symbols[i]).price && !bad.ok();
      }
      right[i] = all ? 1 : 0;
    });
    EXPECT_TRUE(threads.back().Start().ok());
  }
  for (threading::Thread& thread : threads) thread.Join();
  for (int i = 0; i < kThreads; ++i) EXPECT_EQ(right[i], 1) << symbols[i];
}

}  // namespace
}  // namespace pyconc::stocks
