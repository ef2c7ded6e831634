// The thread-pool lesson, measured: tasks of different durations on a
// ThreadPoolExecutor, collected as they complete (AsCompleted) and in order
// (Map), against running them one after another.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "threading/pool/executor.h"
#include "threading/pool/future.h"
#include "threading/pool/wait.h"
#include "tools/cli/cli.h"

DEFINE_int32(tasks, 6, "How many tasks to submit.");
DEFINE_int32(unit_ms, 50,
             "Task i sleeps a multiple of this (1x to --tasks x, shuffled), "
             "as an I/O-bound call would wait.");
DEFINE_int32(workers, 4, "max_workers of the pool.");

namespace {

constexpr char kLesson[] =
    "concurrent.futures.ThreadPoolExecutor in C++: submit tasks of different "
    "durations to\n"
    "a pool of worker threads. Each Submit() returns a Future; AsCompleted() "
    "hands them\n"
    "back as they finish (shortest first), Map() gives the results in input "
    "order. With\n"
    "W workers the pool takes about sum/W (at least the longest task) instead "
    "of the sum.";

// Task i's duration: every multiple of the unit once, in a scrambled order.
absl::Duration Duration(int i) {
  const int slot = (i * 5 + 3) % FLAGS_tasks;
  return absl::Milliseconds(FLAGS_unit_ms) * (slot + 1);
}

// One task: waits as a download would, then answers which task it was.
int Task(int i) {
  absl::SleepFor(Duration(i));
  return i;
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("tasks", FLAGS_tasks, 1, 1000);
  pyconc::cli::CheckFlagRange("unit_ms", FLAGS_unit_ms, 0, 10000);
  pyconc::cli::CheckFlagRange("workers", FLAGS_workers, 1, 256);
  namespace futures = pyconc::futures;

  std::vector<int> inputs;
  for (int i = 0; i < FLAGS_tasks; ++i) inputs.push_back(i);

  pyconc::cli::Heading("one after another (no pool)");
  const absl::Duration sequential = pyconc::cli::Measure([&] {
    for (int i : inputs) Task(i);
  });
  std::printf("  %d tasks %s\n", FLAGS_tasks,
              pyconc::cli::FormatDuration(sequential).c_str());

  pyconc::cli::Heading("Submit + AsCompleted: results as they finish");
  const absl::Time start = absl::Now();
  absl::Duration as_completed;
  {
    futures::ThreadPoolExecutor pool({.max_workers = FLAGS_workers});
    std::vector<futures::Future<int>> submitted;
    for (int i : inputs) submitted.push_back(*pool.Submit(Task, i));
    for (absl::StatusOr<futures::Future<int>> done :
         futures::AsCompleted(submitted)) {
      const int i = done->Result();
      std::printf("  %10s  task %-3d (sleeps %s)\n",
                  pyconc::cli::FormatDuration(absl::Now() - start).c_str(), i,
                  absl::FormatDuration(Duration(i)).c_str());
    }
    as_completed = absl::Now() - start;
  }

  pyconc::cli::Heading("Map: results in input order");
  absl::Duration mapped;
  {
    futures::ThreadPoolExecutor pool({.max_workers = FLAGS_workers});
    const absl::Time map_start = absl::Now();
    mapped = pyconc::cli::Measure([&] {
      for (absl::StatusOr<int> result : pool.Map(Task, inputs)) {
        std::printf(
            "  %10s  task %d\n",
            pyconc::cli::FormatDuration(absl::Now() - map_start).c_str(),
            *result);
      }
    });
  }

  absl::Duration sum;
  absl::Duration longest;
  for (int i : inputs) {
    sum += Duration(i);
    longest = std::max(longest, Duration(i));
  }
  const absl::Duration ideal = std::max(longest, sum / FLAGS_workers);

  pyconc::cli::Heading("totals");
  std::printf("  %-22s %12s\n", "sequential",
              pyconc::cli::FormatDuration(sequential).c_str());
  std::printf("  %-22s %12s   %5.2f x faster (%d workers)\n",
              "pool, AsCompleted",
              pyconc::cli::FormatDuration(as_completed).c_str(),
              absl::FDivDuration(sequential, as_completed), FLAGS_workers);
  std::printf("  %-22s %12s   %5.2f x faster\n", "pool, Map",
              pyconc::cli::FormatDuration(mapped).c_str(),
              absl::FDivDuration(sequential, mapped));
  std::printf("  %-22s %12s   lower bound: max(longest task, sum / workers)\n",
              "best possible", pyconc::cli::FormatDuration(ideal).c_str());

  // The speed-up the pool can reach at best, and half of the way to it.
  const double possible =
      ideal > absl::ZeroDuration() ? absl::FDivDuration(sum, ideal) : 1.0;
  const double measured = absl::FDivDuration(sequential, as_completed);
  pyconc::cli::Claim(
      "A pool of W worker threads runs I/O-bound tasks side by side: the "
      "batch takes about max(longest task, sum / W) instead of the sum.",
      absl::StrFormat("%d tasks took %s one after another and %s on %d "
                      "workers: %.2fx, of %.2fx at best.",
                      FLAGS_tasks, pyconc::cli::FormatDuration(sequential),
                      pyconc::cli::FormatDuration(as_completed), FLAGS_workers,
                      measured, possible),
      possible > 1 && measured >= 1 + (possible - 1) / 2,
      possible > 1 ? "the workers started late; the machine is loaded, raise "
                     "--unit_ms"
                   : "with one worker, one task or --unit_ms=0 there is "
                     "nothing to overlap");
  return 0;
}
