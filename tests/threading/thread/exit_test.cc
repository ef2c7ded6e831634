// Returning from main waits for non-daemon threads and not for daemon threads.
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "tests/tools/piped_child.h"

namespace {

using ::pyconc::testing::PipedChild;
using ::pyconc::testing::ReadUntil;
using ::pyconc::testing::SpawnPiped;
using ::pyconc::testing::WaitStatus;

constexpr char kHelper[] = "tests/threading/thread/exit_helper";

int WaitExitCode(pid_t pid) {
  const int status = WaitStatus(pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ExitTest, MainReturningWaitsForANonDaemonThread) {
  PipedChild child = SpawnPiped(kHelper, {"non_daemon"});
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
  ::close(child.stderr_fd);
}

TEST(ExitTest, MainReturningDoesNotWaitForADaemonThread) {
  PipedChild child = SpawnPiped(kHelper, {"daemon"});
  // The daemon thread blocks on stdin, which stays open: the process exits
  // anyway.
  EXPECT_EQ(WaitExitCode(child.pid), 0);
  const std::string output = ReadUntil(child.stdout_fd, "");
  EXPECT_NE(output.find("main returning"), std::string::npos);
  EXPECT_EQ(output.find("thread finished"), std::string::npos);
  ::close(child.stdin_fd);
  ::close(child.stdout_fd);
  ::close(child.stderr_fd);
}

}  // namespace
