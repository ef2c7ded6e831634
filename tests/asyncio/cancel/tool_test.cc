// The //asyncio/cancel tool, run as a learner runs it.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(CancelToolTest, TheTaskIsCancelledMidSleepAndCleansUp) {
  const auto run =
      RunTool("asyncio/cancel/cancel",
              {"--sleep_ms=5000", "--cancel_after_ms=20", "--cleanup_ms=5"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("worker: caught CancelledError: enough"));
  EXPECT_THAT(run.out, HasSubstr("worker: cleanup done"));
  EXPECT_THAT(run.out, HasSubstr("resource released (destructor)"));
  EXPECT_THAT(run.out, HasSubstr("main: task.Cancelled() = true"));
  EXPECT_THAT(run.out, ContainsRegex("[0-9.]+ ms  main: task.Cancel"));
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: Cancel() throws CancelledError "
                                 "at the await where the task is suspended:"));
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: the worker caught "
                                     "CancelledError [0-9.]+ [mun]?s into its "
                                     "5000 ms sleep; cleanup done, destructor "
                                     "ran; main's await raised CancelledError; "
                                     "Cancelled\\(\\) = true.\n"));
  // The cancel comes 20 ms into a 5 s sleep: the whole course shows.
  EXPECT_THAT(run.out, HasSubstr("\nShown:    yes\n"));
}

TEST(CancelToolTest, ATaskThatEndsFirstCannotShowTheCancel) {
  const auto run = RunTool("asyncio/cancel/cancel",
                           {"--sleep_ms=0", "--cancel_after_ms=20"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("main: the task finished before the cancel "
                                 "arrived"));
  EXPECT_THAT(run.out, HasSubstr("\nShown:    no (the task finished before "
                                 "the cancel; use a --cancel_after_ms below "
                                 "--sleep_ms)\n"));
}

TEST(CancelToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool("asyncio/cancel/cancel", {"--cleanup_ms=-1"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "cancel: --cleanup_ms must be in [0, 60000], not -1\n");
}

}  // namespace
