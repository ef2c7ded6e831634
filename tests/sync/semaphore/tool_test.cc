// The //sync/semaphore tool, run as a learner runs it.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::HasSubstr;

TEST(SemaphoreToolTest, MostRunningAtOnceIsTheLimit) {
  const auto run =
      RunTool("sync/semaphore/tool", {"--jobs=6", "--limit=2", "--job_ms=10"});
  // Six jobs two at a time: at least three waves of 10 ms.
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("BoundedSemaphore(2): 6 jobs of 10 ms each."));
  EXPECT_THAT(run.out,
              HasSubstr("  most running at once                  2 jobs   "
                        "(limit 2)"));
  EXPECT_THAT(run.out, HasSubstr("let 2 jobs run at once, as its 2 permits"));
  EXPECT_THAT(run.out, HasSubstr("Measured: at most 2 of 6 jobs ran at once "
                                 "with 2 permits.\nShown:    yes\n"));
}

// Jobs of 0 ms may end before the next starts: fewer than the limit overlap,
// which is no failure.
TEST(SemaphoreToolTest, ZeroMillisecondJobsSucceed) {
  const auto run =
      RunTool("sync/semaphore/tool", {"--jobs=20", "--limit=5", "--job_ms=0"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
}

TEST(SemaphoreToolTest, ARunLongerThanTenSecondsIsRefused) {
  const auto run = RunTool("sync/semaphore/tool",
                           {"--jobs=1000", "--limit=1", "--job_ms=1000"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_THAT(run.err, HasSubstr("within 10 s"));
}

TEST(SemaphoreToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool("sync/semaphore/tool", {"--limit=0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "semaphore: --limit must be in [1, 1000], not 0\n");
}

}  // namespace
