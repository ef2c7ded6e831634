// Daemon threads, measured: this tool runs itself twice as a child process
// whose main returns while one thread is still busy, once with a daemon thread
// and once with a non-daemon thread, and times how long each child takes to
// exit.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/trace.h"
#include "gflags/gflags.h"
#include "threading/thread/thread.h"
#include "tools/cli/cli.h"

DEFINE_int32(busy_ms, 500,
             "How long the child's thread keeps working after main returns.");
DEFINE_string(
    child, "",
    "Internal: run as the child, with a 'daemon' or 'non_daemon' thread.");

extern char** environ;

namespace {

constexpr char kLesson[] =
    "Daemon threads: when main returns, Python (and pyconc) first join every "
    "non-daemon\n"
    "thread, so the process lives until they finish; daemon threads are "
    "abandoned and\n"
    "the process exits at once. Use daemon threads for background work that "
    "may be\n"
    "cut off (a heartbeat), never for work that must complete (writing a "
    "file).";

// The child: start one thread that works for --busy_ms, then return from main.
int RunChild(bool daemon) {
  pyconc::threading::Thread worker({.name = "worker", .daemon = daemon}, [] {
    absl::SleepFor(absl::Milliseconds(FLAGS_busy_ms));
  });
  pyconc::cli::ExitIfError(worker.Start());
  return 0;
}

// Runs this program as a child with `--child=role`; returns the wall time until
// it exited. The child's life is a slice on main's timeline (the child itself
// is not a pyconc Process, so it records nothing).
absl::Duration TimeChild(const std::string& role) {
  const std::string slice_name = "child with a " + role + " thread";
  pyconc::trace::Slice child_life("process", slice_name);
  const std::string child_flag = "--child=" + role;
  const std::string busy_flag = "--busy_ms=" + std::to_string(FLAGS_busy_ms);
  char* argv[] = {const_cast<char*>("daemon"),
                  const_cast<char*>(child_flag.c_str()),
                  const_cast<char*>(busy_flag.c_str()), nullptr};
  const absl::Time start = absl::Now();
  pid_t pid = 0;
  if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv, environ) !=
      0) {
    std::fprintf(stderr, "daemon: cannot start a child process\n");
    std::exit(1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return absl::Now() - start;
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("busy_ms", FLAGS_busy_ms, 0, 60000);
  if (!FLAGS_child.empty()) {
    if (FLAGS_child != "daemon" && FLAGS_child != "non_daemon") {
      pyconc::cli::Fail("--child must be 'daemon' or 'non_daemon'");
    }
    return RunChild(FLAGS_child == "daemon");
  }
  std::printf(
      "A child process starts one thread busy for %d ms, then main returns.\n",
      FLAGS_busy_ms);
  const absl::Duration with_daemon = TimeChild("daemon");
  const absl::Duration with_non_daemon = TimeChild("non_daemon");
  // Both in ms, so the two lines compare at a glance.
  std::printf("  %-26s exited after %8.1f ms   (the thread was abandoned)\n",
              "with a daemon thread:", absl::ToDoubleMilliseconds(with_daemon));
  std::printf(
      "  %-26s exited after %8.1f ms   (main's return waited for the thread)\n",
      "with a non-daemon thread:", absl::ToDoubleMilliseconds(with_non_daemon));
  const absl::Duration busy = absl::Milliseconds(FLAGS_busy_ms);
  pyconc::cli::Claim(
      "When main returns, the process waits for its non-daemon threads; a "
      "daemon thread is abandoned and the process exits at once.",
      absl::StrFormat("with the thread busy for %d ms, the child exited after "
                      "%.1f ms with a daemon thread and %.1f ms with a "
                      "non-daemon one.",
                      FLAGS_busy_ms, absl::ToDoubleMilliseconds(with_daemon),
                      absl::ToDoubleMilliseconds(with_non_daemon)),
      with_non_daemon >= busy && with_daemon < busy,
      FLAGS_busy_ms == 0 ? "a thread with no work has nothing to cut off; use "
                           "--busy_ms=100 or more"
                         : "starting and ending the child took longer than "
                           "the thread's work; raise --busy_ms");
  return 0;
}
