// What a parent's exit does to its children, as in Python: non-daemon children
// are joined, daemon children terminated; an exception in a child is reported
// on the child's stderr with its name. Also: when the parent is killed, its
// fork server still terminates the daemon children and leaves nothing behind.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

extern char** environ;

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Helper {
  pid_t pid = -1;
  int stdin_fd = -1;   // The test's end of the helper's stdin.
  int stdout_fd = -1;  // The test's end of the helper's stdout.
  int stderr_fd = -1;  // The test's end of the helper's stderr.
};

Helper Spawn(const char* mode) {
  int in[2], out[2], err[2];
  EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  const std::string path = std::string(std::getenv("TEST_SRCDIR")) + "/" +
                           std::getenv("TEST_WORKSPACE") +
                           "/tests/multiprocessing/process/exit_helper";
  char* argv[] = {const_cast<char*>(path.c_str()), const_cast<char*>(mode),
                  nullptr};
  Helper helper;
  EXPECT_EQ(
      posix_spawn(&helper.pid, path.c_str(), &actions, nullptr, argv, environ),
      0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  helper.stdin_fd = in[1];
  helper.stdout_fd = out[0];
  helper.stderr_fd = err[0];
  return helper;
}

// Reads until `text` has appeared (or, when `text` is empty, until EOF).
std::string ReadUntil(int fd, const std::string& text) {
  std::string output;
  char buffer[256];
  while (text.empty() || output.find(text) == std::string::npos) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n <= 0) break;
    output.append(buffer, static_cast<size_t>(n));
  }
  return output;
}

int WaitStatus(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return status;
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
