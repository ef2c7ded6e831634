// Who awaits whom, asked from outside: Python 3.14's `python -m asyncio
// pstree PID` (and `ps PID`) for a pyconc program. The program calls
// asyncio::InstallTaskDumpOnSignal(loop); this tool sends it SIGUSR1 and
// prints the tree (or table) its loop writes. Without --pid it starts a demo
// program of its own and asks that one.
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "asyncio/asyncio.h"
#include "gflags/gflags.h"
#include "tools/cli/cli.h"

DEFINE_int32(pid, 0,
             "The process to ask (it must have called "
             "asyncio::InstallTaskDumpOnSignal); 0 starts a demo program.");
DEFINE_string(format, "tree",
              "tree (python -m asyncio pstree) or table (python -m asyncio "
              "ps).");
DEFINE_bool(cycle, false,
            "Demo only: two of its tasks await each other, and the tree "
            "gives way to the cycle.");
DEFINE_int32(timeout_ms, 5000, "How long to wait for the process's answer.");

namespace {

namespace aio = pyconc::asyncio;

constexpr char kLesson[] =
    "Who awaits whom: Python 3.14 prints the tree of a running program's "
    "tasks with\n"
    "`python -m asyncio pstree PID`: each task, the coroutines it is "
    "suspended in, and\n"
    "the tasks it awaits (through await, gather, TaskGroup, shield). A "
    "pyconc program\n"
    "answers SIGUSR1 once it calls asyncio::InstallTaskDumpOnSignal(loop); "
    "this tool\n"
    "sends the signal and prints the answer. Tasks awaiting each other "
    "cannot form a\n"
    "tree: the cycles are printed instead.";

// --- the demo program (the child without --pid).

aio::Coroutine<void> Download(int id, aio::Future<void> never) {
  (void)id;
  co_await never;
}

aio::Coroutine<void> Crawl(aio::Future<void> never) {
  co_await aio::Gather(
      aio::CreateTask(Download(1, never), {.name = "download-1"}),
      aio::CreateTask(Download(2, never), {.name = "download-2"}));
}

aio::Coroutine<void> Index(aio::Future<void> never) { co_await never; }

aio::Coroutine<void> Workers(aio::Future<void> never) {
  aio::TaskGroup group;
  co_await group.Run([&]() -> aio::Coroutine<void> {
    group.CreateTask(Crawl(never), {.name = "crawler"});
    group.CreateTask(Index(never), {.name = "indexer"});
    co_return;
  }());
}

aio::Coroutine<void> AwaitOther(aio::Task<void>* other) {
  co_await aio::Shield(*other);
}

// Installs the dump, starts the tasks, then says "ready" on `ready_fd`.
aio::Coroutine<void> DemoMain(int ready_fd) {
  auto dump = aio::InstallTaskDumpOnSignal(aio::GetRunningLoop());
  if (!dump.ok()) {
    std::fprintf(stderr, "pstree demo: %s\n", dump.status().ToString().c_str());
    co_return;
  }
  aio::Future<void> never;
  aio::Task<void> workers =
      aio::CreateTask(Workers(never), {.name = "workers"});
  aio::Task<void> a, b;
  if (FLAGS_cycle) {
    a = aio::CreateTask(AwaitOther(&b), {.name = "ping"});
    b = aio::CreateTask(AwaitOther(&a), {.name = "pong"});
  }
  co_await aio::Sleep(absl::ZeroDuration());  // Every task has started.
  co_await aio::Sleep(absl::ZeroDuration());
  const char ready = 'r';
  if (::write(ready_fd, &ready, 1) != 1) co_return;
  ::close(ready_fd);
  co_await never;  // Until the tool kills it.
}

// Starts the demo in a child; returns its pid once it can answer.
pid_t StartDemo() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) pyconc::cli::Fail("pipe2 failed");
  const pid_t pid = ::fork();
  if (pid < 0) pyconc::cli::Fail("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    // The dump goes to the file this tool reads; its stderr copy is noise.
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, STDERR_FILENO);
    aio::Run(DemoMain(fds[1]));
    ::_exit(0);
  }
  ::close(fds[1]);
  char ready = 0;
  const ssize_t n = ::read(fds[0], &ready, 1);
  ::close(fds[0]);
  if (n != 1) pyconc::cli::Fail("the demo program did not start");
  return pid;
}

// Whether `pid` catches `signo` (the SigCgt mask of /proc/PID/status):
// sending SIGUSR1 to a program that does not would kill it.
bool Catches(pid_t pid, int signo) {
  std::ifstream status(absl::StrFormat("/proc/%d/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("SigCgt:", 0) != 0) continue;
    uint64_t mask = 0;
    const std::string hex(absl::StripAsciiWhitespace(line.substr(7)));
    if (!absl::SimpleHexAtoi(hex, &mask)) return false;
    return (mask >> (signo - 1)) & 1;
  }
  return false;
}

// Sends the signal and waits for the dump file; empty after the timeout.
std::string AskForDump(pid_t pid) {
  const std::string path = aio::TaskDumpPath(pid);
  std::remove(path.c_str());
  if (::kill(pid, SIGUSR1) != 0) {
    pyconc::cli::Fail(absl::StrFormat("cannot signal process %d", pid));
  }
  const absl::Time deadline =
      absl::Now() + absl::Milliseconds(FLAGS_timeout_ms);
  while (absl::Now() < deadline) {
    std::ifstream file(path);
    if (file) {
      std::stringstream text;
      text << file.rdbuf();
      std::remove(path.c_str());
      return text.str();
    }
    absl::SleepFor(absl::Milliseconds(10));  // Polling a file: no gate here.
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("pid", FLAGS_pid, 0, 1 << 22);
  pyconc::cli::CheckFlagRange("timeout_ms", FLAGS_timeout_ms, 1, 600000);
  if (FLAGS_format != "tree" && FLAGS_format != "table") {
    pyconc::cli::Fail(absl::StrFormat("--format must be tree or table, not %s",
                                      FLAGS_format));
  }
  if (FLAGS_cycle && FLAGS_pid != 0) {
    pyconc::cli::Fail("--cycle is for the demo program: drop --pid");
  }
  const bool demo = FLAGS_pid == 0;
  const pid_t pid = demo ? StartDemo() : FLAGS_pid;
  if (!demo && ::kill(pid, 0) != 0) {
    pyconc::cli::Fail(absl::StrFormat("no process %d", pid));
  }
  if (!Catches(pid, SIGUSR1)) {
    pyconc::cli::Fail(
        absl::StrFormat("process %d does not catch SIGUSR1 (it must call "
                        "asyncio::InstallTaskDumpOnSignal); not sending it",
                        pid));
  }
  const std::string dump = AskForDump(pid);
  if (demo) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  if (dump.empty()) {
    std::fprintf(stderr, "pstree: process %d gave no task dump within %d ms\n",
                 pid, FLAGS_timeout_ms);
    return 1;
  }
  // The dump is the tree (or the cycles), a blank line, then the table.
  const size_t table = dump.find("\ntid ");
  const bool cycles = dump.rfind("ERROR: await-graph contains cycles", 0) == 0;
  if (FLAGS_format == "table") {
    std::fputs(table == std::string::npos ? "" : dump.c_str() + table + 1,
               stdout);
    return 0;
  }
  const std::string tree = dump.substr(0, table);
  std::fputs(tree.c_str(), cycles ? stderr : stdout);
  return cycles ? 1 : 0;
}
