// The //threading/thread tool, run as a learner runs it.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(ThreadToolTest, ComparesSequentialAndThreadedRuns) {
  const auto run =
      RunTool("threading/thread/tool", {"--jobs=3", "--latency_ms=20"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("3 I/O-bound jobs of 20 ms each"));
  EXPECT_THAT(run.out, HasSubstr("sequential"));
  EXPECT_THAT(run.out, HasSubstr("3 threads, started then joined"));
  EXPECT_THAT(run.out, HasSubstr("speed-up"));
  EXPECT_THAT(run.out, HasSubstr("Thread-1"));
  EXPECT_THAT(run.out, HasSubstr("MainThread"));
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: A thread blocked on I/O costs "
                                 "nothing"));
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: 3 jobs took [0-9.]+ [mun]?s "
                                     "one after another and [0-9.]+ [mun]?s on "
                                     "3 threads: [0-9.]+x.\n"));
  EXPECT_THAT(run.out, ContainsRegex("\nShown:    (yes|no \\(.+\\))\n"));
}

TEST(ThreadToolTest, OneJobCannotShowASpeedUp) {
  const auto run =
      RunTool("threading/thread/tool", {"--jobs=1", "--latency_ms=1"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("\nShown:    no (one job has nothing to "
                                 "overlap; use --jobs=2 or more)\n"));
}

TEST(ThreadToolTest, HelpExplainsTheTopic) {
  const auto run = RunTool("threading/thread/tool", {"--help"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out + run.err, HasSubstr("I/O-bound"));
  EXPECT_THAT(run.out + run.err, HasSubstr("--latency_ms"));
}

TEST(ThreadToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool("threading/thread/tool", {"--jobs=0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "thread: --jobs must be in [1, 1000], not 0\n");
}

}  // namespace
