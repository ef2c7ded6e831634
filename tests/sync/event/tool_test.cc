// The //sync/event tool, run as a learner runs it.
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(EventToolTest, OneSetWakesEveryWorker) {
  const auto run = RunTool("sync/event/tool", {"--workers=3", "--delay_ms=20"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out,
              HasSubstr("3 workers waited on one Event; Set() after 20 ms."));
  EXPECT_THAT(run.out,
              HasSubstr("worker           waited     woke after Set()"));
  for (int i = 1; i <= 3; ++i) {
    EXPECT_THAT(run.out, HasSubstr(absl::StrCat("\n  Thread-", i, " ")));
  }
  EXPECT_THAT(run.out, HasSubstr("All 3 workers woke from one Set()"));
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: Wait() blocks until another "
                                 "thread calls Set(), and one Set() wakes "
                                 "every waiting thread.\n"));
  // Whether all 3 had begun waiting within 20 ms depends on the machine.
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: [0-3] of 3 workers were "
                                     "waiting before the one Set\\(\\) and "
                                     "all went on after it"));
  EXPECT_THAT(run.out, ContainsRegex("\nShown:    (yes|no \\(.+\\))\n"));
}

TEST(EventToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool("sync/event/tool", {"--workers=0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "event: --workers must be in [1, 256], not 0\n");
}

}  // namespace
