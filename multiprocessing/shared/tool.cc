// The tutorial's shared counter across processes: children incrementing one
// shared Value lose updates without a lock and lose none with a
// multiprocessing Lock.

#include <sched.h>

#include <cstdint>
#include <deque>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "multiprocessing/process/process.h"
#include "multiprocessing/shared/sharedctypes.h"
#include "multiprocessing/shared/synchronize.h"
#include "sync/lock/lock.h"
#include "tools/cli/cli.h"

DEFINE_int32(processes, 4, "child processes incrementing the shared counter");
DEFINE_int32(increments, 1000, "increments per process");
DEFINE_int32(window_us, 20,
             "pause between reading the counter and writing it back, in "
             "microseconds (0: just yield the processor)");

namespace pyconc::multiprocessing {
namespace {

constexpr char kUsage[] =
    "Sharing state between processes: processes do not share memory, so a "
    "counter they all\n"
    "update must live in shared memory (multiprocessing.Value). `counter.value "
    "+= 1` is a\n"
    "read, an add and a write: two processes can read the same value and one "
    "update is\n"
    "lost. A multiprocessing.Lock, passed to every child, makes the "
    "read-modify-write\n"
    "indivisible across processes, and none is lost. Each increment here "
    "reads, "
    "pauses\n"
    "(--window_us) and writes, so the race shows on any machine.";

// Python's `value = counter.value; time.sleep(w); counter.value = value + 1`.
void Increment(Value<int64_t>& counter, int window_us) {
  const int64_t value = counter.value();
  if (window_us > 0) {
    absl::SleepFor(absl::Microseconds(window_us));
  } else {
    ::sched_yield();
  }
  counter.set_value(value + 1);
}

// One child: waits for the others at `start`, then increments `increments`
// times, holding `lock` around each increment when `locked`.
void Child(Value<int64_t> counter, Lock lock, Barrier start, int increments,
           int window_us, bool locked) {
  if (!start.Wait().ok()) return;
  for (int i = 0; i < increments; ++i) {
    if (locked) {
      sync::Guard guard(lock);
      Increment(counter, window_us);
    } else {
      Increment(counter, window_us);
    }
  }
}

struct Outcome {
  int64_t count;
  absl::Duration elapsed;
};

// Runs FLAGS_processes children on a fresh counter.
Outcome Run(bool locked) {
  // No lock of the Value's own: the run decides what guards the counter.
  Value<int64_t> counter(0, {.lock = false});
  Lock lock;
  Barrier start(FLAGS_processes);
  const absl::Time begin = absl::Now();
  std::deque<Process> children;
  for (int p = 0; p < FLAGS_processes; ++p) {
    children.emplace_back(&Child, counter, lock, start, FLAGS_increments,
                          FLAGS_window_us, locked);
    pyconc::cli::ExitIfError(children.back().Start());
  }
  for (Process& child : children) {
    child.Join();
    if (child.ExitCode() != 0) {
      cli::Fail(absl::StrFormat("%s exited with code %d", child.name(),
                                child.ExitCode().value_or(-1)));
    }
  }
  return {counter.value(), absl::Now() - begin};
}

void PrintRow(const char* name, const Outcome& outcome, int64_t expected) {
  absl::PrintF("  %-26s %12d %13d   %10s\n", name, outcome.count,
               expected - outcome.count, cli::FormatDuration(outcome.elapsed));
}

int Main() {
  const int64_t expected = int64_t{FLAGS_processes} * FLAGS_increments;
  absl::PrintF(
      "%d processes x %d increments of one shared Value: expected %d\n"
      "(each increment reads the value, pauses %d us, writes it plus one)\n\n",
      FLAGS_processes, FLAGS_increments, expected, FLAGS_window_us);
  absl::PrintF("  %-26s %12s %13s   %10s\n", "counter", "final count",
               "lost updates", "time");
  const Outcome unlocked = Run(/*locked=*/false);
  PrintRow("no lock", unlocked, expected);
  const Outcome locked = Run(/*locked=*/true);
  PrintRow("with multiprocessing.Lock", locked, expected);

  const int64_t lost = expected - unlocked.count;
  cli::Claim(
      "Processes updating a shared Value without a lock lose updates; with a "
      "Lock, none.",
      absl::StrFormat("%d of %d updates lost without a lock; %d with the Lock.",
                      lost, expected, expected - locked.count),
      lost > 0 && locked.count == expected,
      FLAGS_window_us == 0
          ? "with --window_us=0 the read-modify-write window is too short to "
            "show reliably"
          : "no process switched inside the window this time");
  return locked.count == expected ? 0 : 1;
}

}  // namespace
}  // namespace pyconc::multiprocessing

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, pyconc::multiprocessing::kUsage, __FILE__);
  pyconc::cli::CheckFlagRange("processes", FLAGS_processes, 2, 8);
  pyconc::cli::CheckFlagRange("increments", FLAGS_increments, 1, 2000);
  pyconc::cli::CheckFlagRange("window_us", FLAGS_window_us, 0, 50);
  pyconc::cli::ExitIfError(pyconc::multiprocessing::StartForkServer());
  return pyconc::multiprocessing::Main();
}
