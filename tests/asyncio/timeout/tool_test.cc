// The //asyncio/timeout tool, run as a learner runs it.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(TimeoutToolTest, CutsTheSlowCallThreeWays) {
  const auto run =
      RunTool("asyncio/timeout/timeout", {"--work_ms=60", "--timeout_ms=10"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("call cancelled, cleaning up"));
  EXPECT_THAT(run.out, HasSubstr("answer: TimeoutError"));
  EXPECT_THAT(run.out, HasSubstr("the timeout expired"));
  EXPECT_THAT(run.out, HasSubstr("shielded call finished with 42"));
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: A call that outlasts its timeout "
                                 "is cancelled and the caller gets "
                                 "TimeoutError;"));
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: with 60 ms of work and a 10 "
                                     "ms timeout, WaitFor answered "
                                     "TimeoutError after [0-9.]+ [mun]?s, "
                                     "Timeout expired after "));
  // A loop held up for 50 ms would see the shielded call end first.
  EXPECT_THAT(run.out, ContainsRegex("\nShown:    (yes|no \\(.+\\))\n"));
}

TEST(TimeoutToolTest, AGenerousTimeoutGivesTheAnswer) {
  const auto run =
      RunTool("asyncio/timeout/timeout", {"--work_ms=1", "--timeout_ms=5000"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("answer: 42"));
  EXPECT_THAT(run.out, HasSubstr("the timeout did not expire"));
  EXPECT_THAT(run.out, HasSubstr("\nShown:    no (the call fits in the "
                                 "timeout; use a --work_ms above "
                                 "--timeout_ms)\n"));
}

TEST(TimeoutToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool("asyncio/timeout/timeout", {"--timeout_ms=-5"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "timeout: --timeout_ms must be in [0, 60000], not -5\n");
}

}  // namespace
