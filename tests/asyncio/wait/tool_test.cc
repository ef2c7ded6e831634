// The //asyncio/wait tool, run as a learner runs it.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::HasSubstr;

TEST(WaitToolTest, EachReturnWhen) {
  const auto run =
      RunTool("asyncio/wait/wait",
              {"--tasks=3", "--latency_ms=30", "--fail=2", "--timeout_ms=15"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("done: job-1 job-2(failed) job-3\n"));
  EXPECT_THAT(run.out, HasSubstr("done: job-1\n"));
  EXPECT_THAT(run.out, HasSubstr("pending: job-2 job-3\n"));
  EXPECT_THAT(run.out, HasSubstr("pending tasks cancelled by the caller"));
}

TEST(WaitToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool("asyncio/wait/wait", {"--tasks=2", "--fail=3"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "wait: --fail must be in [0, 2], not 3\n");
}

}  // namespace
