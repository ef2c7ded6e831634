// The //sync/lock tool, run as a learner runs it.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(LockToolTest, TheLockLosesNoUpdate) {
  const auto run =
      RunTool("sync/lock/tool", {"--threads=3", "--increments=10000"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("3 threads x 10000 increments of one counter: "
                                 "expected 30000"));
  // Final count 30000 and 0 lost updates on the Lock's row.
  EXPECT_THAT(run.out, ContainsRegex("\n  with sync::Lock +30000 +0 "));
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: [0-9]+ of 30000 updates "
                                     "lost without a lock; 0 with the Lock."));
  // How many the racy run loses is up to the scheduler (under ThreadSanitizer
  // a run once lost none): the verdict says which, and why when it is no.
  EXPECT_THAT(run.out,
              ContainsRegex("\nShown:    (yes|no \\(no thread switched inside "
                            "the read-modify-write this time\\))\n"));
  EXPECT_THAT(run.out, ContainsRegex("\n  no lock +[0-9]+ +[0-9]+ "));
}

TEST(LockToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool("sync/lock/tool", {"--threads=0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "lock: --threads must be in [1, 64], not 0\n");
}

}  // namespace
