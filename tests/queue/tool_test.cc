// The //queue tool, run as a learner runs it.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(QueueToolTest, ComparesTheBoundedQueueWithAnUnboundedOne) {
  const auto run = RunTool("queue/tool", {"--producers=2", "--consumers=2",
                                          "--maxsize=4", "--items=5000"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("2 producers -> Queue -> 2 consumers, 5000 "
                                 "items\n"));
  EXPECT_THAT(run.out, ContainsRegex("\n  maxsize=4 +[0-9.]+ ms .* yes\n"));
  EXPECT_THAT(run.out, ContainsRegex(
                           "\n  unbounded \\(maxsize=0\\) +[0-9.]+ ms +[0-9.]+ "
                           "M/s +0 \\( 0.0%\\) .* yes\n"));
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: A bounded queue makes producers "
                                 "wait when it is full"));
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: with maxsize=4 producers "
                                     "waited on [0-9]+ puts and the backlog "
                                     "peaked at [0-9]+ items; unbounded, it "
                                     "peaked at [0-9]+. Exactly once: yes.\n"));
  // Whether the consumers fell behind depends on the machine.
  EXPECT_THAT(run.out, ContainsRegex("\nShown:    (yes|no \\(.+\\))\n"));
}

TEST(QueueToolTest, AnUnboundedQueueCannotShowBackPressure) {
  const auto run =
      RunTool("queue/tool", {"--maxsize=0", "--items=100", "--kind=lifo"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("-> LifoQueue ->"));
  EXPECT_THAT(run.out, HasSubstr("\nShown:    no (this queue is unbounded; "
                                 "use --maxsize=N to bound it)\n"));
}

TEST(QueueToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool("queue/tool", {"--kind=heap"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err,
            "queue: --kind must be fifo, lifo or priority, not 'heap'\n");
}

}  // namespace
