// The //asyncio/event_loop tool, run as a learner runs it.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(EventLoopToolTest, OneThreadRunsWhateverIsReady) {
  const auto run = RunTool("asyncio/event_loop/event_loop",
                           {"--timers=2", "--interval_ms=5"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, ContainsRegex("\n  iteration +1 .* callback A "
                                     "\\(CallSoon\\)\n  iteration +1 .* "
                                     "callback B"));
  EXPECT_THAT(run.out, ContainsRegex("\n  iteration +2 .* callback C "));
  EXPECT_THAT(run.out, HasSubstr("reader: socket readable, read \"ping\"\n"));
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: One thread runs, one after "
                                 "another, whatever is ready:"));
  // The callbacks' order and the reader do not depend on the machine.
  EXPECT_THAT(run.out,
              ContainsRegex("\nMeasured: A and B ran in iteration 1, "
                            "C in 2; 0 of 2 timers ran before their "
                            "time; the reader ran once the socket "
                            "had data; [0-9]+ iterations in [0-9.]+ "
                            "ms \\(at most 10 without spinning\\).\n"));
  EXPECT_THAT(run.out, ContainsRegex("\nShown:    (yes|no \\(.+\\))\n"));
}

TEST(EventLoopToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool("asyncio/event_loop/event_loop", {"--timers=0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "event_loop: --timers must be in [1, 100], not 0\n");
}

}  // namespace
