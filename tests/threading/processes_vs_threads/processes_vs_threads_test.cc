// The //threading/processes_vs_threads tool: costs measured, memory shared or
// copied.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(ProcessesVsThreadsToolTest, AThreadSharesMemoryAForkedChildDoesNot) {
  const auto run = RunTool(
      "threading/processes_vs_threads/processes_vs_threads", {"--count=20"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("20 threads   created+joined"));
  EXPECT_THAT(run.out, HasSubstr("20 processes forked+reaped"));
  EXPECT_THAT(run.out, HasSubstr("set shared_value = 42;  main now reads 42"));
  EXPECT_THAT(
      run.out,
      HasSubstr("set shared_value = 99 in its copy; main still reads 42"));
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: Threads share their process's "
                                 "memory and are cheaper to create;"));
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: a process cost [0-9.]+x a "
                                     "thread to create; main read 42 after "
                                     "the thread wrote 42 and 42 after the "
                                     "child wrote 99.\n"));
  // The memory part always shows; the cost ratio depends on the machine.
  EXPECT_THAT(run.out, ContainsRegex("\nShown:    (yes|no \\(.+\\))\n"));
}

TEST(ProcessesVsThreadsToolTest, RejectsACountOutOfRange) {
  const auto run = RunTool(
      "threading/processes_vs_threads/processes_vs_threads", {"--count=-5"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--count must be in [1, 100000], not -5"));
}

}  // namespace
