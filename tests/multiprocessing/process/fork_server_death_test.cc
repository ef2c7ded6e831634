// The fork server killed while a child runs: the child runs on, orphaned, and
// Join() waits for it to end and reports its real exit code (the test process
// is a subreaper, see no_orphans.h), instead of answering at once with -9.
// Alone in its binary: the server it kills is not replaced.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "multiprocessing/process/connection.h"
#include "multiprocessing/process/internal/fork_server.h"
#include "multiprocessing/process/process.h"
#include "tests/multiprocessing/process/no_orphans.h"

namespace pyconc::multiprocessing {
namespace {

void ExitWithWhatItReceives(Connection conn) {
  std::exit(conn.Recv<int>().value_or(1));
}
void WaitForEver(Connection conn) { (void)conn.Recv<int>(); }

TEST(ForkServerDeathTest, ChildrenOfADeadServerAreJoinedForReal) {
  auto [parent, child] = Pipe();
  auto [parent2, child2] = Pipe();
  Process p(&ExitWithWhatItReceives, child);
  Process q(&WaitForEver, child2);
  EXPECT_TRUE(p.Start().ok());
  EXPECT_TRUE(q.Start().ok());
  child.Close();
  child2.Close();
  const pid_t server = internal::ForkServerPid();
  ASSERT_EQ(::kill(server, SIGKILL), 0);
  // The server is gone (its exit reaches the reader as EOF); the child is not.
  siginfo_t info = {};
  ASSERT_EQ(
      ::waitid(P_PID, static_cast<id_t>(server), &info, WEXITED | WNOWAIT), 0);
  EXPECT_TRUE(p.IsAlive());
  ASSERT_TRUE(parent.Send(7).ok());
  p.Join();
  EXPECT_EQ(p.ExitCode(), 7);
  // Kill() still reaches an orphan, through its pidfd.
  q.Kill();
  q.Join();
  EXPECT_EQ(q.ExitCode(), -9);
  internal::ShutdownForkServer();
}

}  // namespace
}  // namespace pyconc::multiprocessing
