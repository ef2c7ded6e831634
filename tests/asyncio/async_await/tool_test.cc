// The //asyncio/async_await tool, run as a learner runs it.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(AsyncAwaitToolTest, SequentialAwaitsTakeTheSum) {
  const auto run = RunTool("asyncio/async_await/async_await",
                           {"--jobs=3", "--latency_ms=5"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  // Each fetch starts only after the previous one is done.
  EXPECT_THAT(run.out, ContainsRegex("fetch 1 done\n.*gives back 1 .*\n.*"
                                     "fetch 2 starts\n"));
  EXPECT_THAT(run.out, HasSubstr("main's co_await gives back 3 (fetch 3's "
                                 "co_return)\n"));
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: Coroutines awaited one after "
                                 "another still run one after another:"));
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: 3 awaits of 5 ms took "
                                     "[0-9.]+ [mun]?s; the sum of the waits "
                                     "is 15 ms.\n"));
  // Every await sleeps its full latency, so the total is at least the sum.
  EXPECT_THAT(run.out, HasSubstr("\nShown:    yes\n"));
}

TEST(AsyncAwaitToolTest, OneJobCannotShowTheSum) {
  const auto run = RunTool("asyncio/async_await/async_await",
                           {"--jobs=1", "--latency_ms=1"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("\nShown:    no (one job, or jobs that do "
                                 "not wait, cannot tell the sum from the "
                                 "longest;"));
}

TEST(AsyncAwaitToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool("asyncio/async_await/async_await", {"--jobs=0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "async_await: --jobs must be in [1, 1000], not 0\n");
}

}  // namespace
