// The //asyncio/gather tool, run as a learner runs it.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(GatherToolTest, ResultsInOrderErrorsAndACancelledGather) {
  const auto run =
      RunTool("asyncio/gather/gather",
              {"--calls=3", "--latency_ms=30", "--cancel_after_ms=5"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("results [10, 20, 30]"));
  EXPECT_THAT(run.out, HasSubstr("result 2: exception: call 2 failed"));
  EXPECT_THAT(run.out, HasSubstr("gather raised: call 2 failed"));
  EXPECT_THAT(run.out, HasSubstr("call 3 cancelled, cleaning up"));
  EXPECT_THAT(run.out,
              HasSubstr("the gathering task ended with CancelledError: stop"));
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: Gather runs the calls "
                                 "concurrently and gives their results in the "
                                 "arguments' order,"));
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: 3 calls \\(longest 30 ms, "
                                     "sum 60 ms\\) gathered in [0-9.]+ "
                                     "[mun]?s, results in order; the cancelled "
                                     "gather ended cancelled and cancelled "
                                     "[1-3] calls.\n"));
  // Whether the gather took nearer the longest than the sum depends on the
  // machine.
  EXPECT_THAT(run.out, ContainsRegex("\nShown:    (yes|no \\(.+\\))\n"));
}

TEST(GatherToolTest, OneCallCannotShowConcurrency) {
  const auto run =
      RunTool("asyncio/gather/gather",
              {"--calls=1", "--latency_ms=1", "--cancel_after_ms=0"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("\nShown:    no (one call, or calls that do "
                                 "not wait, cannot tell the sum from the "
                                 "longest;"));
}

TEST(GatherToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool("asyncio/gather/gather", {"--calls=0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "gather: --calls must be in [1, 100000], not 0\n");
}

}  // namespace
