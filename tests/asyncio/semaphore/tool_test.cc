// The //asyncio/semaphore tool, run as a learner runs it.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(AsyncioSemaphoreToolTest, AtMostKDownloadsAreInFlight) {
  const auto run = RunTool("asyncio/semaphore/semaphore",
                           {"--downloads=7", "--limit=3", "--download_ms=5"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("download  6 starts   in flight"));
  EXPECT_THAT(run.out, Not(HasSubstr("in flight 4")));
  EXPECT_THAT(run.out,
              HasSubstr("at most 3 of 7 downloads were in flight with K = 3"));
  EXPECT_THAT(run.out, HasSubstr("ceil(N / K) x 5 ms = 15 ms"));
  EXPECT_THAT(run.out, HasSubstr("\nShown:    yes\n"));
}

TEST(AsyncioSemaphoreToolTest, FewerDownloadsThanTheLimitAllRunAtOnce) {
  const auto run = RunTool("asyncio/semaphore/semaphore",
                           {"--downloads=2", "--limit=5", "--download_ms=0"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("at most 2 of 2 downloads were in flight"));
  EXPECT_THAT(run.out, HasSubstr("\nShown:    yes\n"));
}

TEST(AsyncioSemaphoreToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  auto run = RunTool("asyncio/semaphore/semaphore", {"--limit=0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "semaphore: --limit must be in [1, 10000], not 0\n");
  run = RunTool("asyncio/semaphore/semaphore",
                {"--downloads=100000", "--limit=1", "--download_ms=10000"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("keep it under 30 s"));
}

}  // namespace
