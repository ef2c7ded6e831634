// Subprocesses on the event loop: exit codes, pipes (large output both ways
// without deadlock), signals, cancellation, spawn errors, no descriptor left
// behind. Ported tests name their CPython original
// (Lib/test/test_asyncio/test_subprocess.py, 3.13).
#include "asyncio/subprocess.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "asyncio/errors.h"
#include "asyncio/loop.h"
#include "asyncio/run.h"
#include "asyncio/sleep.h"
#include "asyncio/task.h"
#include "base/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyconc::asyncio {
namespace {

using ::testing::HasSubstr;

Coroutine<void> Yield(int n = 1) {
  for (int i = 0; i < n; ++i) co_await Sleep(absl::ZeroDuration());
}

// test_exit_code-like: exit statuses, and -N for a child ended by signal N.
TEST(SubprocessTest, ReturnCodes) {
  asyncio::Run([]() -> Coroutine<void> {
    const std::vector<std::string> ok = {"true"};
    absl::StatusOr<Process> p = CreateSubprocessExec(ok);
    EXPECT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(co_await p->Wait(), 0);
    EXPECT_EQ(p->Returncode(), 0);

    absl::StatusOr<Process> three = CreateSubprocessShell("exit 3");
    EXPECT_FALSE(three->Returncode().has_value());
    EXPECT_EQ(co_await three->Wait(), 3);

    absl::StatusOr<Process> killed = CreateSubprocessShell("kill -TERM $$");
    EXPECT_EQ(co_await killed->Wait(), -SIGTERM);
  }());
}

// test_communicate: stdin in, stdout and stderr out, then the exit code.
TEST(SubprocessTest, CommunicateFeedsStdinAndReadsBothOutputs) {
  asyncio::Run([]() -> Coroutine<void> {
    absl::StatusOr<Process> p =
        CreateSubprocessShell("cat; echo to-stderr >&2; exit 7",
                              {.in = kPipe, .out = kPipe, .err = kPipe});
    EXPECT_TRUE(p.ok()) << p.status();
    absl::StatusOr<Communicated> got = co_await p->Communicate("some input");
    EXPECT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->out, "some input");
    EXPECT_EQ(got->err, "to-stderr\n");
    EXPECT_EQ(p->Returncode(), 7);
  }());
}

// More than any pipe holds, in and out at once: a child that writes as it
// reads would deadlock a parent that wrote everything before reading.
TEST(SubprocessTest, LargeOutputWithoutDeadlock) {
  asyncio::Run([]() -> Coroutine<void> {
    std::string input(8 << 20, '\0');
    for (size_t i = 0; i < input.size(); ++i) input[i] = char('a' + i % 26);
    const std::vector<std::string> cat = {"cat"};
    absl::StatusOr<Process> p =
        CreateSubprocessExec(cat, {.in = kPipe, .out = kPipe});
    absl::StatusOr<Communicated> got = co_await p->Communicate(input);
    EXPECT_TRUE(got.ok()) << got.status();
    EXPECT_TRUE(got->out == input) << got->out.size() << " bytes came back";
    EXPECT_EQ(p->Returncode(), 0);

    absl::StatusOr<Process> big =
        CreateSubprocessShell("head -c 20000000 /dev/zero", {.out = kPipe});
    got = co_await big->Communicate();
    EXPECT_EQ(got->out.size(), 20000000u);
    EXPECT_EQ(big->Returncode(), 0);
  }());
}

// test_stdout_stderr_... : stderr=STDOUT shares the pipe; DEVNULL discards.
TEST(SubprocessTest, StderrToStdoutAndDevNull) {
  asyncio::Run([]() -> Coroutine<void> {
    absl::StatusOr<Process> p = CreateSubprocessShell(
        "echo out; echo err >&2", {.out = kPipe, .err = kStdout});
    absl::StatusOr<Communicated> got = co_await p->Communicate();
    EXPECT_EQ(got->out, "out\nerr\n");
    EXPECT_EQ(p->Stderr(), nullptr);

    absl::StatusOr<Process> quiet = CreateSubprocessShell(
        "echo out; echo err >&2", {.out = kDevNull, .err = kPipe});
    got = co_await quiet->Communicate();
    EXPECT_EQ(got->out, "");
    EXPECT_EQ(got->err, "err\n");
  }());
}

// The pipes are streams: read a child's output line by line as it comes.
TEST(SubprocessTest, ReadLinesFromStdout) {
  asyncio::Run([]() -> Coroutine<void> {
    absl::StatusOr<Process> p =
        CreateSubprocessShell("printf 'one\\ntwo\\n'", {.out = kPipe});
    EXPECT_EQ(p->Stdin(), nullptr);
    StreamReader* out = p->Stdout();
    EXPECT_EQ(*co_await out->ReadLine(), "one\n");
    EXPECT_EQ(*co_await out->ReadLine(), "two\n");
    EXPECT_EQ(*co_await out->ReadLine(), "");
    EXPECT_EQ(co_await p->Wait(), 0);
  }());
}

// test_kill, test_terminate; a reaped child is ProcessLookupError.
TEST(SubprocessTest, KillAndTerminate) {
  asyncio::Run([]() -> Coroutine<void> {
    const std::vector<std::string> sleep = {"sleep", "100"};
    absl::StatusOr<Process> p = CreateSubprocessExec(sleep);
    EXPECT_TRUE(p->Kill().ok());
    EXPECT_EQ(co_await p->Wait(), -SIGKILL);
    absl::Status again = p->Kill();
    EXPECT_TRUE(IsError(again, PythonError::kProcessLookupError)) << again;

    absl::StatusOr<Process> t = CreateSubprocessExec(sleep);
    EXPECT_TRUE(t->Terminate().ok());
    EXPECT_EQ(co_await t->Wait(), -SIGTERM);
  }());
}

// test_cancel_process_wait: a cancelled Wait leaves the child running.
TEST(SubprocessTest, CancelledWaitLeavesTheChildRunning) {
  asyncio::Run([]() -> Coroutine<void> {
    const std::vector<std::string> sleep = {"sleep", "100"};
    absl::StatusOr<Process> p = CreateSubprocessExec(sleep);
    Task<int> wait = CreateTask(p->Wait());
    co_await Yield();
    wait.Cancel();
    co_await Yield(2);
    EXPECT_TRUE(wait.Cancelled());
    EXPECT_FALSE(p->Returncode().has_value());
    EXPECT_TRUE(p->Kill().ok());
    EXPECT_EQ(co_await p->Wait(), -SIGKILL);
  }());
}

// A cancelled Communicate stops feeding and reading; the child can still be
// killed and waited for.
TEST(SubprocessTest, CancelledCommunicate) {
  asyncio::Run([]() -> Coroutine<void> {
    absl::StatusOr<Process> p =
        CreateSubprocessShell("sleep 100", {.in = kPipe, .out = kPipe});
    Task<absl::StatusOr<Communicated>> talk =
        CreateTask(p->Communicate("input"));
    co_await Yield(3);
    talk.Cancel();
    co_await Yield(3);
    EXPECT_TRUE(talk.Cancelled());
    EXPECT_TRUE(p->Kill().ok());
    EXPECT_EQ(co_await p->Wait(), -SIGKILL);
  }());
}

// test_create_subprocess_exec_with_path-like: a program that does not exist.
TEST(SubprocessTest, MissingProgramIsFileNotFoundError) {
  asyncio::Run([]() -> Coroutine<void> {
    const std::vector<std::string> nothing = {"/nonexistent/program"};
    absl::StatusOr<Process> p = CreateSubprocessExec(nothing, {.out = kPipe});
    EXPECT_TRUE(IsError(p.status(), PythonError::kFileNotFoundError))
        << p.status();
    EXPECT_THAT(p.status().message(), HasSubstr("'/nonexistent/program'"));
    co_return;
  }());
}

int OpenDescriptors() {
  int n = 0;
  DIR* dir = opendir("/proc/self/fd");
  while (dirent* entry = readdir(dir)) n += entry->d_name[0] != '.';
  closedir(dir);
  return n;
}

// With no descriptor left for a pidfd (as on a kernel without pidfd_open),
// the loop polls for the exit instead.
TEST(SubprocessTest, WithoutAPidfdTheLoopPollsForTheExit) {
  asyncio::Run([]() -> Coroutine<void> {
    rlimit saved{};
    getrlimit(RLIMIT_NOFILE, &saved);
    // UBSan (in the asan config) checks the type of the first timer the loop
    // queues, which needs a descriptor of its own: queue one beforehand.
    GetRunningLoop().CallLater(absl::ZeroDuration(), [] {});
    // The lowest free descriptor becomes the limit: no new one can open.
    const int lowest_free = dup(0);
    close(lowest_free);
    rlimit none = saved;
    none.rlim_cur = static_cast<rlim_t>(lowest_free);
    setrlimit(RLIMIT_NOFILE, &none);
    const std::vector<std::string> exit5 = {"/bin/sh", "-c", "exit 5"};
    absl::StatusOr<Process> p = CreateSubprocessExec(exit5);
    setrlimit(RLIMIT_NOFILE, &saved);
    EXPECT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(co_await p->Wait(), 5);
  }());
}

TEST(SubprocessTest, NoDescriptorLeaks) {
  auto round = []() -> Coroutine<void> {
    for (int i = 0; i < 5; ++i) {
      absl::StatusOr<Process> p = CreateSubprocessShell(
          "cat; echo e >&2", {.in = kPipe, .out = kPipe, .err = kPipe});
      absl::StatusOr<Communicated> got = co_await p->Communicate("x");
      EXPECT_EQ(got->out, "x");
    }
    const std::vector<std::string> nothing = {"/nonexistent/program"};
    EXPECT_FALSE(CreateSubprocessExec(nothing, {.in = kPipe}).ok());
  };
  asyncio::Run(round());
  const int before = OpenDescriptors();
  asyncio::Run(round());
  asyncio::Run(round());
  EXPECT_EQ(OpenDescriptors(), before);
}

}  // namespace
}  // namespace pyconc::asyncio
