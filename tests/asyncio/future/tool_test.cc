// The //asyncio/future tool, run as a learner runs it.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(FutureToolTest, EachSetterResumesTheAwaiter) {
  const auto run = RunTool("asyncio/future/future", {"--delay_ms=5"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("done callback sees \"soon\"\n"));
  EXPECT_THAT(run.out, HasSubstr("got 7 (via CallSoonThreadsafe)\n"));
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: Whoever has the value sets the "
                                 "Future:"));
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: the awaiter got \"soon\" "
                                     "from CallSoon \\(done callback ran\\), "
                                     "42 from the 5 ms timer after [0-9.]+ "
                                     "[mun]?s, 7 from another thread; the "
                                     "cancelled one raised CancelledError: "
                                     "not needed.\n"));
  // Every value is set by the tool itself, and a timer never fires early.
  EXPECT_THAT(run.out, HasSubstr("\nShown:    yes\n"));
}

TEST(FutureToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool("asyncio/future/future", {"--delay_ms=-1"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "future: --delay_ms must be in [0, 60000], not -1\n");
}

}  // namespace
