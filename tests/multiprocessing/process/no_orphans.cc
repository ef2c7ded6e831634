#include "tests/multiprocessing/process/no_orphans.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "multiprocessing/process/internal/fork_server.h"

namespace pyconc::multiprocessing::testing {
namespace {

// Makes the test a subreaper and, at the end of the run, checks that shutting
// the fork server down leaves no child at all.
class NoOrphansEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0); }
  void TearDown() override {
    internal::ShutdownForkServer();
    int status = 0;
    EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1)
        << "a child process outlived the test run";
    EXPECT_EQ(errno, ECHILD);
  }
};

const ::testing::Environment* const environment =
    ::testing::AddGlobalTestEnvironment(new NoOrphansEnvironment);

}  // namespace

std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return children;
  while (const dirent* entry = ::readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0) continue;
    // A process may end and be reaped while this looks: its file then reads
    // as an error (ESRCH), and it is nobody's child any more.
    const std::string path = std::string("/proc/") + entry->d_name + "/stat";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buffer[512];
    const ssize_t size = ::read(fd, buffer, sizeof(buffer));
    ::close(fd);
    if (size <= 0) continue;
    const std::string stat(buffer, static_cast<size_t>(size));
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(paren + 1));
    char state = 0;
    pid_t ppid = 0;
    fields >> state >> ppid;
    if (ppid == parent) children.push_back(pid);
  }
  ::closedir(proc);
  return children;
}

void NoOrphansTest::TearDown() {
  const pid_t server = internal::ForkServerPid();
  if (server != 0) {
    EXPECT_THAT(ChildrenOf(server), ::testing::IsEmpty())
        << "the fork server still has children (running or zombie)";
    EXPECT_THAT(ChildrenOf(::getpid()), ::testing::ElementsAre(server))
        << "the test process has children other than the fork server";
  } else {
    EXPECT_THAT(ChildrenOf(::getpid()), ::testing::IsEmpty());
  }
}

}  // namespace pyconc::multiprocessing::testing
