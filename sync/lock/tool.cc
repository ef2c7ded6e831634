// The tutorial's counter race: threads incrementing a shared counter lose
// updates without a lock and lose none with one.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "sync/lock/lock.h"
#include "threading/thread/thread.h"
#include "tools/cli/cli.h"

DEFINE_int32(threads, 4, "threads incrementing the counter");
DEFINE_int64(increments, 200000, "increments per thread");

namespace pyconc::sync {
namespace {

constexpr char kUsage[] =
    "A race condition: several threads run `counter += 1`, which is a read, an "
    "add and\n"
    "a write. Without a lock two threads can read the same value and one "
    "update is lost;\n"
    "holding a Lock around the read-modify-write makes it indivisible, and "
    "none is lost.\n"
    "(The racy counter is a relaxed atomic load, a yield, then a store: a real "
    "race with\n"
    "the window the tutorial's time.sleep(0) opens, but no undefined "
    "behaviour.)";

struct Outcome {
  int64_t count;
  absl::Duration elapsed;
};

// Runs `increment` FLAGS_increments times on each of FLAGS_threads threads.
Outcome Run(const std::function<void()>& increment,
            const std::atomic<int64_t>& counter) {
  const absl::Time start = absl::Now();
  {
    std::deque<threading::Thread> threads;
    for (int t = 0; t < FLAGS_threads; ++t) {
      threads.emplace_back([&] {
        for (int64_t i = 0; i < FLAGS_increments; ++i) increment();
      });
      pyconc::cli::ExitIfError(threads.back().Start());
    }
    for (threading::Thread& thread : threads) thread.Join();
  }
  return {counter.load(), absl::Now() - start};
}

void PrintRow(const char* name, const Outcome& outcome, int64_t expected) {
  absl::PrintF("  %-16s %12d %13d   %10s %14s\n", name, outcome.count,
               expected - outcome.count, cli::FormatDuration(outcome.elapsed),
               cli::FormatDuration(outcome.elapsed / expected));
}

int Main() {
  const int64_t expected = int64_t{FLAGS_threads} * FLAGS_increments;
  absl::PrintF("%d threads x %d increments of one counter: expected %d\n\n",
               FLAGS_threads, FLAGS_increments, expected);
  absl::PrintF("  %-16s %12s %13s   %10s %14s\n", "counter", "final count",
               "lost updates", "time", "per increment");

  std::atomic<int64_t> racy{0};
  const Outcome unprotected = Run(
      [&] {
        const int64_t value = racy.load(std::memory_order_relaxed);
        // The tutorial widens the window between read and write (time.sleep(0)
        // lets another thread run); so does this, on any machine.
        std::this_thread::yield();
        racy.store(value + 1, std::memory_order_relaxed);
      },
      racy);
  PrintRow("no lock", unprotected, expected);

  Lock lock;
  std::atomic<int64_t> guarded{0};
  const Outcome protected_run = Run(
      [&] {
        Guard guard(lock);
        const int64_t value = guarded.load(std::memory_order_relaxed);
        guarded.store(value + 1, std::memory_order_relaxed);
      },
      guarded);
  PrintRow("with sync::Lock", protected_run, expected);

  const int64_t lost = expected - unprotected.count;
  cli::Claim(
      "Without a lock, threads that read, add and write a shared counter lose "
      "updates; a Lock around the read-modify-write loses none.",
      absl::StrFormat("%d of %d updates lost without a lock; %d with the Lock.",
                      lost, expected, expected - protected_run.count),
      lost > 0 && protected_run.count == expected,
      FLAGS_threads == 1
          ? "one thread cannot race with itself; use --threads=2 or more"
          : "no thread switched inside the read-modify-write this time");
  return protected_run.count == expected ? 0 : 1;
}

}  // namespace
}  // namespace pyconc::sync

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, pyconc::sync::kUsage, __FILE__);
  pyconc::cli::CheckFlagRange("threads", FLAGS_threads, 1, 64);
  pyconc::cli::CheckFlagRange("increments", FLAGS_increments, 1, 100000000);
  return pyconc::sync::Main();
}
