// The kernel itself refuses a thread: a child of the test counts its tasks
// under an unused uid (root's is exempt from RLIMIT_NPROC) with RLIMIT_NPROC
// at what it runs already, so pthread_create() answers EAGAIN. Thread::Start()
// and a pool's Submit() answer the error; a tool says so in one line and
// exits 1. (Its own binary: the child forks while the test has no other
// thread.)

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "base/errors.h"
#include "gtest/gtest.h"
#include "threading/pool/executor.h"
#include "threading/thread/thread.h"

namespace pyconc::threading {
namespace {

// Exit codes of the child.
constexpr int kShown = 0;       // Every check held.
constexpr int kNotShown = 1;    // A check failed (see its stderr).
constexpr int kNoSandbox = 77;  // Could not change uid or capabilities.

// Makes this process count its tasks under a user no other process runs as,
// allowed `processes` of them, and takes away the capabilities that exempt a
// process from that limit (root's own uid always is): pthread_create() and
// fork() then fail with EAGAIN as they do for a user at its limit. The
// effective uid stays 0, so files stay readable and a tool can be exec'd.
bool LimitProcesses(int processes) {
  for (const int capability : {CAP_SYS_RESOURCE, CAP_SYS_ADMIN}) {
    if (::prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0) return false;
  }
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  for (const int capability : {CAP_SYS_RESOURCE, CAP_SYS_ADMIN}) {
    const uint32_t bit = 1u << (capability % 32);
    data[capability / 32].effective &= ~bit;
    data[capability / 32].permitted &= ~bit;
    data[capability / 32].inheritable &= ~bit;
  }
  if (::syscall(SYS_capset, &header, data) != 0) return false;
  const uid_t uid = 200000 + static_cast<uid_t>(::getpid());
  if (::setresuid(uid, static_cast<uid_t>(-1), static_cast<uid_t>(-1)) != 0) {
    return false;
  }
  const rlimit limit = {static_cast<rlim_t>(processes),
                        static_cast<rlim_t>(processes)};
  return ::setrlimit(RLIMIT_NPROC, &limit) == 0;
}

// Runs `check` in a forked child that cannot create threads.
int RunLimited(int (*check)()) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!LimitProcesses(1)) ::_exit(kNoSandbox);
    ::_exit(check());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool IsCantStartNewThread(const absl::Status& status) {
  return IsError(status, PythonError::kRuntimeError) &&
         absl::StrContains(status.message(),
                           "can't start new thread ([Errno 11] Resource "
                           "temporarily unavailable)");
}

int StartThread() {
  Thread thread([] {});
  const absl::Status status = thread.Start();
  if (!IsCantStartNewThread(status)) {
    std::fprintf(stderr, "Start(): %s\n", status.ToString().c_str());
    return kNotShown;
  }
  return thread.IsAlive() ? kNotShown : kShown;
}

int SubmitToPool() {
  futures::ThreadPoolExecutor pool({.max_workers = 1});
  auto future = pool.Submit([] { return 1; });
  if (future.ok() || !IsCantStartNewThread(future.status())) {
    std::fprintf(stderr, "Submit(): %s\n", future.status().ToString().c_str());
    return kNotShown;
  }
  return kShown;
}

TEST(StartLimitTest, StartAnswersTheKernelsRefusal) {
  const int code = RunLimited(&StartThread);
  if (code == kNoSandbox)
    GTEST_SKIP()
        << "cannot limit processes here (Bazel's sandbox maps only root)";
  EXPECT_EQ(code, kShown);
}

TEST(StartLimitTest, PoolSubmitAnswersTheKernelsRefusal) {
  const int code = RunLimited(&SubmitToPool);
  if (code == kNoSandbox)
    GTEST_SKIP()
        << "cannot limit processes here (Bazel's sandbox maps only root)";
  EXPECT_EQ(code, kShown);
}

TEST(StartLimitTest, AToolPrintsOneLineAndExitsOne) {
  const std::string tool = std::string(std::getenv("TEST_SRCDIR")) + "/" +
                           std::getenv("TEST_WORKSPACE") +
                           "/threading/thread/tool";
  int err[2];
  ASSERT_EQ(::pipe2(err, O_CLOEXEC), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // One task: this child, which becomes the tool, and none to spare.
    if (!LimitProcesses(1)) ::_exit(kNoSandbox);
    ::dup2(err[1], 2);
    ::execl(tool.c_str(), tool.c_str(), "--jobs=4", "--latency_ms=1",
            static_cast<char*>(nullptr));
    ::_exit(126);
  }
  ::close(err[1]);
  std::string stderr_text;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(err[0], buffer, sizeof(buffer))) > 0) {
    stderr_text.append(buffer, static_cast<size_t>(n));
  }
  ::close(err[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << stderr_text;
  if (WEXITSTATUS(status) == kNoSandbox) {
    GTEST_SKIP()
        << "cannot limit processes here (Bazel's sandbox maps only root)";
  }
  EXPECT_EQ(WEXITSTATUS(status), 1) << stderr_text;
  EXPECT_EQ(stderr_text,
            "thread: RuntimeError: can't start new thread ([Errno 11] Resource "
            "temporarily unavailable)\n");
}

}  // namespace
}  // namespace pyconc::threading
