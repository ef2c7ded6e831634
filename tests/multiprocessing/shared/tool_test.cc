// The //multiprocessing/shared tool, run as a learner runs it.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(SharedToolTest, TheRacyRunLosesUpdatesAndTheLockedRunNone) {
  const auto run = RunTool("multiprocessing/shared/tool",
                           {"--processes=3", "--increments=300"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("3 processes x 300 increments of one shared "
                                 "Value: expected 900\n"));
  EXPECT_THAT(run.out, ContainsRegex("\n  with multiprocessing.Lock +900 +0 "));
  // The read-pause-write window makes the race show on any machine: the
  // unlocked run loses at least one update (its count is below 900).
  EXPECT_THAT(run.out,
              ContainsRegex("\n  no lock +([0-9]|[1-9][0-9]|[1-8][0-9][0-9]) "
                            "+[1-9][0-9]* "));
  EXPECT_THAT(run.out, HasSubstr("Tutorial: Processes updating a shared Value "
                                 "without a lock lose updates"));
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: [1-9][0-9]* of 900 updates "
                                     "lost without a lock; 0 with the Lock."));
  EXPECT_THAT(run.out, HasSubstr("\nShown:    yes\n"));
}

TEST(SharedToolTest, HelpTeachesTheTopic) {
  const auto run = RunTool("multiprocessing/shared/tool", {"--help"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out + run.err, HasSubstr("multiprocessing.Value"));
  EXPECT_THAT(run.out + run.err, HasSubstr("--window_us"));
}

TEST(SharedToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  auto run = RunTool("multiprocessing/shared/tool", {"--processes=1"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "shared: --processes must be in [2, 8], not 1\n");
  run = RunTool("multiprocessing/shared/tool", {"--increments=100000"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "shared: --increments must be in [1, 2000], not 100000\n");
}

}  // namespace
