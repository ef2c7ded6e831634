// Processes vs threads, measured: the cost of creating and joining each, and
// what each shares. A thread shares its process's memory; a forked process gets
// its own copy.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_format.h"
#include "gflags/gflags.h"
#include "threading/thread/thread.h"
#include "tools/cli/cli.h"

DEFINE_int32(count, 1000,
             "How many threads, then processes, to create and join.");

namespace {

constexpr char kLesson[] =
    "Processes and threads: a process has its own memory; its threads share "
    "it. This\n"
    "tool creates and joins --count threads, then forks and reaps --count "
    "processes,\n"
    "and times both. Then a thread and a forked child each change the same "
    "global\n"
    "variable: the thread's change is visible to main, the child's is not "
    "(fork copies\n"
    "memory). Threads are cheaper to create; processes are isolated.";

// The memory the demonstration changes from a thread and from a child process.
int64_t shared_value = 0;

absl::Duration TimeThreads(int count) {
  return pyconc::cli::Measure([count] {
    for (int i = 0; i < count; ++i) {
      pyconc::threading::Thread thread([] {});
      pyconc::cli::ExitIfError(thread.Start());
      thread.Join();
    }
  });
}

// Forks `count` children that exit at once. The children call only _exit(),
// which is async-signal-safe, so forking while other threads exist cannot
// deadlock them.
absl::Duration TimeProcesses(int count) {
  return pyconc::cli::Measure([count] {
    for (int i = 0; i < count; ++i) {
      const pid_t pid = ::fork();
      if (pid == 0) ::_exit(0);
      if (pid < 0) {
        std::perror("processes_vs_threads: fork");
        std::exit(1);
      }
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  });
}

// Returns the value main reads after the thread set it.
int64_t ShowThreadSharesMemory() {
  int64_t thread_native_id = 0;
  pyconc::threading::Thread writer([&thread_native_id] {
    thread_native_id = pyconc::threading::GetNativeId();
    shared_value = 42;
  });
  pyconc::cli::ExitIfError(writer.Start());
  writer.Join();
  std::printf(
      "  thread  pid=%d tid=%lld set shared_value = 42;  main now reads %lld\n",
      ::getpid(), static_cast<long long>(thread_native_id),
      static_cast<long long>(shared_value));
  return shared_value;
}

// Returns the value main reads after the child set its copy.
int64_t ShowProcessHasItsOwnCopy() {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) {
    std::perror("processes_vs_threads: pipe");
    std::exit(1);
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls in the child: write() and _exit().
    shared_value = 99;
    const int64_t seen = shared_value;
    (void)!::write(pipe_fds[1], &seen, sizeof(seen));
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  int64_t child_value = 0;
  (void)!::read(pipe_fds[0], &child_value, sizeof(child_value));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::printf(
      "  process pid=%d set shared_value = %lld in its copy; main still reads "
      "%lld\n",
      pid, static_cast<long long>(child_value),
      static_cast<long long>(shared_value));
  return shared_value;
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("count", FLAGS_count, 1, 100000);
  pyconc::cli::Heading("creation cost");
  const absl::Duration threads = TimeThreads(FLAGS_count);
  const absl::Duration processes = TimeProcesses(FLAGS_count);
  const double per_thread_us =
      absl::ToDoubleMicroseconds(threads) / FLAGS_count;
  const double per_process_us =
      absl::ToDoubleMicroseconds(processes) / FLAGS_count;
  std::printf("  %d threads   created+joined in %10s  (%7.1f us each)\n",
              FLAGS_count, pyconc::cli::FormatDuration(threads).c_str(),
              per_thread_us);
  std::printf("  %d processes forked+reaped in %10s  (%7.1f us each)\n",
              FLAGS_count, pyconc::cli::FormatDuration(processes).c_str(),
              per_process_us);
  std::printf("  a process costs %.1f x a thread\n",
              per_process_us / per_thread_us);

  pyconc::cli::Heading("memory");
  std::printf("  main    pid=%d tid=%lld, shared_value = %lld\n", ::getpid(),
              static_cast<long long>(pyconc::threading::GetNativeId()),
              static_cast<long long>(shared_value));
  const int64_t after_thread = ShowThreadSharesMemory();
  const int64_t after_process = ShowProcessHasItsOwnCopy();
  const double ratio = per_process_us / per_thread_us;
  pyconc::cli::Claim(
      "Threads share their process's memory and are cheaper to create; a "
      "forked process gets its own copy of memory.",
      absl::StrFormat("a process cost %.1fx a thread to create; main read %d "
                      "after the thread wrote 42 and %d after the child wrote "
                      "99.",
                      ratio, after_thread, after_process),
      ratio > 1 && after_thread == 42 && after_process == 42,
      "creating the threads cost more than forking this time; the machine is "
      "loaded, raise --count");
  return 0;
}
