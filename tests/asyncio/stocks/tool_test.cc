// The //asyncio/stocks tool, run as a learner runs it.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

// Every run scrapes every symbol; the asyncio one on one thread. How many
// threads the threaded run had alive at once, and whether the claim is shown,
// depend on the machine's load, so only their lines are checked.
TEST(AsyncioStocksToolTest, ThreeRunsSideBySide) {
  const auto run =
      RunTool("asyncio/stocks/stocks",
              {"--counts=5,40", "--delay_ms=5", "--limit=20", "--workers=20"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("embedded quote server, 5 ms per page"));
  EXPECT_THAT(run.out, ContainsRegex("  5  sequential +[0-9.]+ .?s +1 +[0-9.]+ "
                                     "MiB  5 ok, 0 failed"));
  EXPECT_THAT(run.out,
              ContainsRegex("40  threads +[0-9.]+ .?s +[0-9]+ +[0-9.]+ "
                            "MiB  40 ok, 0 failed"));
  EXPECT_THAT(run.out, ContainsRegex("40  asyncio +[0-9.]+ .?s +1 +[0-9.]+ "
                                     "MiB  40 ok, 0 failed"));
  EXPECT_THAT(run.out, HasSubstr("Tutorial: A scraper spends its time"));
  EXPECT_THAT(run.out, ContainsRegex("Measured: 40 symbols: asyncio .* on 1 "
                                     "thread"));
  EXPECT_THAT(run.out, ContainsRegex("Shown: +(yes|no)"));
}

TEST(AsyncioStocksToolTest, BadFlagsFailWithOneLine) {
  auto run = RunTool("asyncio/stocks/stocks", {"--counts=0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err,
            "stocks: --counts must list numbers in [1, 10000], not \"0\"\n");
  run = RunTool("asyncio/stocks/stocks", {"--limit=0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "stocks: --limit must be in [1, 1000], not 0\n");
}

}  // namespace
