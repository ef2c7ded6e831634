// What a parent's exit does to its children, as in Python: non-daemon children
// are joined, daemon children terminated; an exception in a child is reported
// on the child's stderr with its name. Also: when the parent is killed, its
// fork server still terminates the daemon children and leaves nothing behind.
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/piped_child.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using ::pyconc::testing::ReadUntil;
using ::pyconc::testing::WaitStatus;
using Helper = ::pyconc::testing::PipedChild;

Helper Spawn(const char* mode) {
  return ::pyconc::testing::SpawnPiped(
      "tests/multiprocessing/process/exit_helper", {mode});
}

void CloseAll(const Helper& helper) {
  ::close(helper.stdin_fd);
  ::close(helper.stdout_fd);
  ::close(helper.stderr_fd);
}

// Nothing the helper started may outlive it: with the test as subreaper, an
// orphan would have become the test's child.
void ExpectNoDescendants() {
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

// Spawns the helper in a daemon mode and reads the pids it reports.
Helper SpawnWithDaemonChild(const char* mode, int* child, int* server) {
  Helper helper = Spawn(mode);
  const std::string out = ReadUntil(helper.stdout_fd, "main returning\n");
  EXPECT_EQ(std::sscanf(out.c_str(), "child %d server %d", child, server), 2)
      << out;
  return helper;
}

class ExitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  }
};

TEST_F(ExitTest, AnExceptionInAChildIsReportedWithItsName) {
  Helper helper = Spawn("exception");
  ::close(helper.stdin_fd);
  const std::string out = ReadUntil(helper.stdout_fd, "");
  const std::string err = ReadUntil(helper.stderr_fd, "");
  const int status = WaitStatus(helper.pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_THAT(out, HasSubstr("exit code 1"));
  EXPECT_THAT(err, HasSubstr("Process Thrower:\nstd::runtime_error: boom in "
                             "the child\n"));
  ::close(helper.stdout_fd);
  ::close(helper.stderr_fd);
  ExpectNoDescendants();
}

TEST_F(ExitTest, ExitJoinsANonDaemonChild) {
  Helper helper = Spawn("non_daemon");
  const std::string out = ReadUntil(helper.stdout_fd, "main returning\n");
  ASSERT_THAT(out, HasSubstr("main returning"));
  // main has returned; the helper must stay, waiting for its child.
  EXPECT_EQ(::waitpid(helper.pid, nullptr, WNOHANG), 0);
  ::close(helper.stdin_fd);  // The child sees EOF and finishes.
  EXPECT_THAT(ReadUntil(helper.stdout_fd, ""), HasSubstr("child finished"));
  const int status = WaitStatus(helper.pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  CloseAll(helper);
  ExpectNoDescendants();
}

TEST_F(ExitTest, ExitTerminatesADaemonChild) {
  int child = 0, server = 0;
  Helper helper = SpawnWithDaemonChild("daemon", &child, &server);
  // stdin stays open, so only termination can end the child.
  const int status = WaitStatus(helper.pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_THAT(ReadUntil(helper.stdout_fd, ""),
              Not(HasSubstr("child finished")));
  EXPECT_EQ(::kill(child, 0), -1);
  EXPECT_EQ(::kill(server, 0), -1);
  CloseAll(helper);
  ExpectNoDescendants();
}

TEST_F(ExitTest, AKilledParentsForkServerTerminatesDaemonChildren) {
  int child = 0, server = 0;
  Helper helper = SpawnWithDaemonChild("daemon_block", &child, &server);
  ::kill(helper.pid, SIGKILL);
  const int status = WaitStatus(helper.pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  // The orphaned server is now the test's child: it must end by itself, after
  // terminating the daemon child and reaping it.
  const int server_status = WaitStatus(server);
  EXPECT_TRUE(WIFEXITED(server_status) && WEXITSTATUS(server_status) == 0);
  EXPECT_EQ(::kill(child, 0), -1);
  CloseAll(helper);
  ExpectNoDescendants();
}

}  // namespace
