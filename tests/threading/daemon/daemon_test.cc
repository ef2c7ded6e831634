// The //threading/daemon tool: a child whose main returns with a busy thread.
#include <string>

#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

// The milliseconds printed after "exited after" on the line starting with
// `label`.
double ExitMs(const std::string& out, const std::string& label) {
  const size_t line = out.find(label);
  const size_t at = out.find("exited after", line);
  double ms = -1;
  const size_t start = at + std::string("exited after").size();
  const size_t end = out.find(" ms", start);
  if (line == std::string::npos || at == std::string::npos ||
      !absl::SimpleAtod(out.substr(start, end - start), &ms)) {
    return -1;
  }
  return ms;
}

TEST(DaemonToolTest, TheNonDaemonChildLivesUntilItsThreadIsDone) {
  const auto run = RunTool("threading/daemon/daemon", {"--busy_ms=150"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("(the thread was abandoned)"));
  EXPECT_GE(ExitMs(run.out, "with a non-daemon thread:"), 150.0);
  EXPECT_GE(ExitMs(run.out, "with a daemon thread:"), 0.0);
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: When main returns, the process "
                                 "waits for its non-daemon threads;"));
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: with the thread busy for 150 "
                                     "ms, the child exited after [0-9.]+ ms "
                                     "with a daemon thread and [0-9.]+ ms with "
                                     "a non-daemon one.\n"));
  // A loaded machine can make the daemon child's start and exit slower than
  // 150 ms.
  EXPECT_THAT(run.out, ContainsRegex("\nShown:    (yes|no \\(.+\\))\n"));
}

TEST(DaemonToolTest, RejectsAnUnknownChildRole) {
  const auto run = RunTool("threading/daemon/daemon", {"--child=zombie"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "daemon: --child must be 'daemon' or 'non_daemon'\n");
}

}  // namespace
