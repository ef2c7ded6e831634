// The //sync/stop tool, run as a learner runs it.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(StopToolTest, EveryWorkerStops) {
  const auto run = RunTool("sync/stop/tool", {"--step_ms=50", "--run_ms=20"});
  // Three workers, each run for --run_ms before its stop request.
  // The tool joins each worker before it prints its row and exits.
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("A worker does a step every 50 ms; main asks "
                                 "it to stop after 20 ms."));
  EXPECT_THAT(run.out, HasSubstr("  sleep, then check Event::IsSet() "));
  EXPECT_THAT(run.out, HasSubstr("  Event::Wait(step) "));
  EXPECT_THAT(run.out, HasSubstr("  WaitForStop(stop_token, step) "));
  EXPECT_THAT(run.out, HasSubstr("stops at once.\n"));
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: A worker that sleeps between "
                                 "steps notices a stop request only after its "
                                 "sleep;"));
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: stopped [0-9.]+ [mun]?s "
                                     "after the request when sleeping, "));
  // The sleeper's latency is about 30 ms, the others' a wake-up's: usually
  // shown, but a loaded machine can wake the waiters late.
  EXPECT_THAT(run.out, ContainsRegex("\nShown:    (yes|no \\(.+\\))\n"));
}

TEST(StopToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool("sync/stop/tool", {"--step_ms=0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "stop: --step_ms must be in [1, 60000], not 0\n");
}

}  // namespace
