// The //sync/barrier tool, run as a learner runs it.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(BarrierToolTest, TheActionRunsOncePerRound) {
  const auto run = RunTool("sync/barrier/tool",
                           {"--parties=3", "--rounds=4", "--step_ms=1"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("Barrier(3): thread i works (i + 1) x 1 ms"));
  EXPECT_THAT(run.out,
              HasSubstr("  round        thread 0     thread 1     thread 2\n"));
  EXPECT_THAT(run.out, HasSubstr("\n  4        "));
  EXPECT_THAT(run.out, HasSubstr("4 rounds passed, the action ran 4 times"));
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: Threads that reach the Barrier "
                                 "wait there until the last one arrives"));
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: 4 of 4 rounds passed; the "
                                     "fastest thread waited [0-9.]+ [mun]?s a "
                                     "round for the others, the slowest "));
  EXPECT_THAT(run.out, ContainsRegex("\nShown:    (yes|no \\(.+\\))\n"));
}

TEST(BarrierToolTest, OnePartyCannotShowTheClaim) {
  const auto run = RunTool("sync/barrier/tool",
                           {"--parties=1", "--rounds=2", "--step_ms=0"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("\nShown:    no (one party never waits for "
                                 "another; use --parties=2 or more)\n"));
}

TEST(BarrierToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool("sync/barrier/tool", {"--parties=0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "barrier: --parties must be in [1, 64], not 0\n");
}

}  // namespace
