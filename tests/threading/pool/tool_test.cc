// The //threading/pool tool, run as a learner runs it.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(PoolToolTest, ComparesThePoolWithOneTaskAfterAnother) {
  const auto run = RunTool("threading/pool/tool",
                           {"--tasks=4", "--unit_ms=5", "--workers=2"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  // Map hands the results back in input order.
  EXPECT_THAT(run.out, ContainsRegex("task 0\n.*task 1\n.*task 2\n.*task 3\n"));
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: A pool of W worker threads runs "
                                 "I/O-bound tasks side by side:"));
  // Tasks of 5 to 20 ms: 50 ms in all, 25 ms at best on two workers.
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: 4 tasks took [0-9.]+ [mun]?s "
                                     "one after another and [0-9.]+ [mun]?s on "
                                     "2 workers: [0-9.]+x, of 2.00x at "
                                     "best.\n"));
  EXPECT_THAT(run.out, ContainsRegex("\nShown:    (yes|no \\(.+\\))\n"));
}

TEST(PoolToolTest, OneWorkerHasNothingToOverlap) {
  const auto run = RunTool("threading/pool/tool",
                           {"--tasks=2", "--unit_ms=1", "--workers=1"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("\nShown:    no (with one worker, one task or "
                                 "--unit_ms=0 there is nothing to overlap)\n"));
}

TEST(PoolToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool("threading/pool/tool", {"--workers=0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "pool: --workers must be in [1, 256], not 0\n");
}

}  // namespace
