// The //sync/timer tool, run as a learner runs it.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(TimerToolTest, TheCancelledTimerDoesNotRun) {
  const auto run =
      RunTool("sync/timer/tool", {"--delay_ms=400", "--cancel_after_ms=10"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("Two Timers of 400 ms; the second "
                                 "cancelled after 10 ms."));
  EXPECT_THAT(run.out,
              ContainsRegex("\n  not cancelled +[0-9.]+ [mun]?s +yes "));
  EXPECT_THAT(run.out, ContainsRegex("\n  cancelled +[0-9.]+ [mun]?s +no\n"));
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: A Timer calls its function once "
                                 "its delay has passed, unless Cancel() comes "
                                 "first"));
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: the timer left alone ran its "
                                     "function after [0-9.]+ [mun]?s \\(delay "
                                     "400 ms\\); the one cancelled at "));
  // Shown unless the machine delays main's Cancel() or the timer's end.
  EXPECT_THAT(run.out, ContainsRegex("\nShown:    (yes|no \\(.+\\))\n"));
}

TEST(TimerToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run =
      RunTool("sync/timer/tool", {"--delay_ms=20", "--cancel_after_ms=20"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "timer: --cancel_after_ms must be in [0, 19], not 20\n");
}

}  // namespace
