// The //threading/return_values tool, run as a learner runs it.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::HasSubstr;

TEST(ReturnValuesToolTest, SlicesAddUpToTheSequentialCount) {
  const auto run =
      RunTool("threading/return_values/tool", {"--limit=1000", "--threads=3"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("one thread                    168 primes"));
  EXPECT_THAT(run.out, HasSubstr("3 ResultThreads               168 primes"));
  EXPECT_THAT(run.out,
              HasSubstr("3 threads returned counts adding up to 168 (one "
                        "thread counted 168); 0 exceptions reached main."));
  EXPECT_THAT(run.out, HasSubstr("\nShown:    yes\n"));
}

TEST(ReturnValuesToolTest, AFailingSliceIsRethrownInMain) {
  const auto run = RunTool("threading/return_values/tool",
                           {"--limit=1000", "--threads=2", "--fail_slice=1"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out,
              HasSubstr("threw    slice [500, 1000) was told to fail"));
  EXPECT_THAT(run.out, HasSubstr("(without the failed slice)"));
  // 95 primes lie below 500, 73 in [500, 1000).
  EXPECT_THAT(run.out, HasSubstr("1 thread returned counts adding up to 95 "
                                 "(one thread counted 95 without the failed "
                                 "slice); 1 exception reached main."));
  EXPECT_THAT(run.out, HasSubstr("\nShown:    yes\n"));
}

TEST(ReturnValuesToolTest, LimitIsBoundedToARunOfSeconds) {
  const auto run =
      RunTool("threading/return_values/tool", {"--limit=10000000"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--limit must be in [1, 4000000]"));
}

TEST(ReturnValuesToolTest, RejectsASliceThatDoesNotExist) {
  const auto run = RunTool("threading/return_values/tool",
                           {"--threads=2", "--fail_slice=2"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--fail_slice must be in [-1, 1]"));
}

}  // namespace
