// The //asyncio/queue tool, run as a learner runs it.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(AsyncioQueueToolTest, EveryItemArrivesWithinMaxsizeAndShutdownEnds) {
  const auto run = RunTool(
      "asyncio/queue/queue",
      {"--producers=3", "--consumers=2", "--items=3000", "--maxsize=4"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("asyncio.Queue(maxsize=4): 3 producers, 2 "
                                 "consumers, 3000 items"));
  EXPECT_THAT(run.out, ContainsRegex("[0-9.]+ ms  depth +[0-4]  #*\n"));
  EXPECT_THAT(run.out, ContainsRegex("moved 3000 items in .*items/s"));
  EXPECT_THAT(run.out, HasSubstr("the depth peaked at 4 (maxsize 4)"));
  EXPECT_THAT(run.out,
              HasSubstr("items summing to 4498500 (expected 4498500)"));
  EXPECT_THAT(run.out, HasSubstr("2 of 2 consumers ended with QueueShutDown"));
  EXPECT_THAT(run.out, HasSubstr("\nShown:    yes\n"));
}

TEST(AsyncioQueueToolTest, SlowConsumersHoldTheProducersBack) {
  const auto run =
      RunTool("asyncio/queue/queue",
              {"--consumers=2", "--items=40", "--maxsize=3", "--consume_ms=1"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("the depth peaked at 3 (maxsize 3)"));
  EXPECT_THAT(run.out, HasSubstr("\nShown:    yes\n"));
}

TEST(AsyncioQueueToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  auto run = RunTool("asyncio/queue/queue", {"--maxsize=-1"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "queue: --maxsize must be in [0, 1000000], not -1\n");
  run = RunTool("asyncio/queue/queue",
                {"--items=2000000", "--consume_ms=1000", "--consumers=1"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("keep it under 30 s"));
}

}  // namespace
