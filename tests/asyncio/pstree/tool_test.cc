// The //asyncio/pstree tool, run as a learner runs it: on its demo program,
// and on processes that cannot answer.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kTool[] = "asyncio/pstree/pstree";

// The dump file is named by the demo's pid, which is the same in every
// sandbox of a --runs_per_test run: each run keeps its files in its own
// TEST_TMPDIR (the tool and its demo read TMPDIR).
class PstreeToolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (const char* dir = std::getenv("TEST_TMPDIR")) {
      ::setenv("TMPDIR", dir, 1);
    }
  }
};

TEST_F(PstreeToolTest, DemoTreeShowsWhoAwaitsWhom) {
  const auto run = RunTool(kTool, {});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  // main awaits nothing: its own coroutine. workers runs the TaskGroup whose
  // crawler gathers the downloads.
  EXPECT_THAT(run.out, StartsWith("└── (T) Task-1\n"));
  EXPECT_THAT(run.out, HasSubstr("└── (T) workers\n"
                                 "    └──  Workers tool.cc:"));
  EXPECT_THAT(run.out, ContainsRegex("        └──  Run task_group.cc:[0-9]+\n"
                                     "            ├── \\(T\\) crawler\n"
                                     "            │   └──  Crawl tool.cc:"
                                     "[0-9]+\n"
                                     "            │       └──  GatherTuple "
                                     "gather.h:[0-9]+\n"
                                     "            │           ├── \\(T\\) "
                                     "download-1\n"));
  EXPECT_THAT(run.out, HasSubstr("            └── (T) indexer\n"));
}

TEST_F(PstreeToolTest, DemoTable) {
  const auto run = RunTool(kTool, {"--format=table"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, StartsWith("tid        task id              task name"));
  EXPECT_THAT(run.out, ContainsRegex("download-1 +Download +GatherTuple -> "
                                     "Crawl +crawler +0x"));
}

TEST_F(PstreeToolTest, CycleIsAnErrorListingIt) {
  const auto run = RunTool(kTool, {"--cycle"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err,
              StartsWith("ERROR: await-graph contains cycles - cannot print a "
                         "tree!\n\n"));
  EXPECT_THAT(run.err, HasSubstr("cycle: ping → pong → ping\n"));
}

TEST_F(PstreeToolTest, ProcessThatDoesNotCatchTheSignalIsLeftAlone) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();  // SIGUSR1 would kill it; the tool must not send it.
    ::_exit(0);
  }
  const auto run = RunTool(kTool, {absl::StrCat("--pid=", child)});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, absl::StrCat("pstree: process ", child,
                                  " does not catch SIGUSR1 (it must call "
                                  "asyncio::InstallTaskDumpOnSignal); not "
                                  "sending it\n"));
  EXPECT_EQ(::kill(child, 0), 0);  // Still alive.
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
}

TEST_F(PstreeToolTest, NoSuchProcess) {
  const auto run = RunTool(kTool, {"--pid=4194303"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "pstree: no process 4194303\n");
}

TEST_F(PstreeToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  const auto run = RunTool(kTool, {"--format=json"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "pstree: --format must be tree or table, not json\n");
}

}  // namespace
