// The //asyncio/wait tool, run as a learner runs it.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(WaitToolTest, EachReturnWhen) {
  const auto run = RunTool(
      "asyncio/wait/wait",
      {"--tasks=3", "--latency_ms=300", "--fail=2", "--timeout_ms=150"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("done: job-1 job-2(failed) job-3\n"));
  EXPECT_THAT(run.out, HasSubstr("done: job-1\n"));
  EXPECT_THAT(run.out, HasSubstr("pending: job-2 job-3\n"));
  EXPECT_THAT(run.out, HasSubstr("pending tasks cancelled by the caller"));
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: Wait answers with the tasks done "
                                 "and those pending,"));
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: done/pending: all 3/0, first "
                                     "completed [0-9]/[0-9], first exception "
                                     "[0-9]/[0-9], timeout [0-9]/[0-9]; [0-9] "
                                     "of [0-9] pending tasks were still "
                                     "running when Wait returned.\n"));
  // The tasks end 100 ms apart; a loop held up longer would see them together.
  EXPECT_THAT(run.out, ContainsRegex("\nShown:    (yes|no \\(.+\\))\n"));
}

TEST(WaitToolTest, FlagsThatLeaveNothingPendingCannotShowIt) {
  const auto run =
      RunTool("asyncio/wait/wait", {"--tasks=1", "--fail=0", "--latency_ms=1"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("\nShown:    no (these flags leave no round "
                                 "with pending tasks;"));
}

TEST(WaitToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool("asyncio/wait/wait", {"--tasks=2", "--fail=3"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "wait: --fail must be in [0, 2], not 3\n");
}

}  // namespace
