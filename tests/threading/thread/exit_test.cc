// Returning from main waits for non-daemon threads and not for daemon threads.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

extern char** environ;

namespace {

struct Child {
  pid_t pid = -1;
  int stdin_fd = -1;   // Parent's end of the child's stdin.
  int stdout_fd = -1;  // Parent's end of the child's stdout.
};

std::string HelperPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return std::string(srcdir) + "/" + workspace +
         "/tests/threading/thread/exit_helper";
}

Child Spawn(const char* mode) {
  int in[2], out[2];
  EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  const std::string path = HelperPath();
  char* argv[] = {const_cast<char*>(path.c_str()), const_cast<char*>(mode),
                  nullptr};
  Child child;
  EXPECT_EQ(
      posix_spawn(&child.pid, path.c_str(), &actions, nullptr, argv, environ),
      0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  child.stdin_fd = in[1];
  child.stdout_fd = out[0];
  return child;
}

// Reads the child's stdout until `text` has appeared (or, when `text` is empty,
// until EOF); returns all it read.
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

int WaitExitCode(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ExitTest, MainReturningWaitsForANonDaemonThread) {
  Child child = Spawn("non_daemon");
  ASSERT_NE(
      ReadUntil(child.stdout_fd, "main returning\n").find("main returning"),
      std::string::npos);
  // main has returned; the process must still be alive, held by the thread.
  int status = 0;
  EXPECT_EQ(::waitpid(child.pid, &status, WNOHANG), 0);
  ::close(child.stdin_fd);  // Lets the thread finish.
  EXPECT_NE(
      ReadUntil(child.stdout_fd, "thread finished\n").find("thread finished"),
      std::string::npos);
  EXPECT_EQ(WaitExitCode(child.pid), 0);
  ::close(child.stdout_fd);
}

TEST(ExitTest, MainReturningDoesNotWaitForADaemonThread) {
  Child child = Spawn("daemon");
  // The daemon thread blocks on stdin, which stays open: the process exits
  // anyway.
  EXPECT_EQ(WaitExitCode(child.pid), 0);
  const std::string output = ReadUntil(child.stdout_fd, "");
  EXPECT_NE(output.find("main returning"), std::string::npos);
  EXPECT_EQ(output.find("thread finished"), std::string::npos);
  ::close(child.stdin_fd);
  ::close(child.stdout_fd);
}

}  // namespace
