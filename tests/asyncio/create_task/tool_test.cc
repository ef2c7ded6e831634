// The //asyncio/create_task tool, run as a learner runs it.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(CreateTaskToolTest, TasksWaitTogether) {
  const auto run = RunTool("asyncio/create_task/create_task",
                           {"--jobs=3", "--latency_ms=5"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  // All three start before the first is done: they wait together.
  EXPECT_THAT(run.out, ContainsRegex("3 tasks created; main awaits them\n.*"
                                     "fetch-1 starts\n.*fetch-2 starts\n.*"
                                     "fetch-3 starts\n.*fetch-1 done\n"));
  EXPECT_THAT(run.out, HasSubstr("main's co_awaits gave back 3 of 3 tasks' "
                                 "co_return values\n"));
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: Tasks waiting on I/O wait "
                                 "together:"));
  // The same jobs as async_await's for the same flags: the sum is 15 ms.
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: 3 tasks of 5 ms took "
                                     "[0-9.]+ [mun]?s; awaited one by one they "
                                     "take the sum, 15 ms.\n"));
  // Whether the loop kept up within 10 ms depends on the machine.
  EXPECT_THAT(run.out, ContainsRegex("\nShown:    (yes|no \\(.+\\))\n"));
}

TEST(CreateTaskToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool("asyncio/create_task/create_task", {"--jobs=0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "create_task: --jobs must be in [1, 100000], not 0\n");
}

}  // namespace
