// Workers wait for a start signal: one Event::Set() releases them all at once.

#include <algorithm>
#include <deque>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "sync/event/event.h"
#include "threading/thread/thread.h"
#include "tools/cli/cli.h"

DEFINE_int32(workers, 4, "threads waiting for the start signal");
DEFINE_int32(delay_ms, 50,
             "how long the main thread prepares before setting the event");

namespace pyconc::sync {
namespace {

constexpr char kUsage[] =
    "An Event is a flag threads can wait for: Wait() blocks until another "
    "thread calls\n"
    "Set(), and one Set() wakes every waiter. Here workers start, wait for a "
    "start\n"
    "signal, and the main thread sets it after --delay_ms; each worker reports "
    "how long\n"
    "it waited and how soon after Set() it woke.";

struct Report {
  absl::Duration waited;
  absl::Time woke;
};

int Main() {
  Event start;
  std::vector<Report> reports(FLAGS_workers);
  std::deque<threading::Thread> workers;
  for (int i = 0; i < FLAGS_workers; ++i) {
    workers.emplace_back([&start, &report = reports[i]] {
      const absl::Time began = absl::Now();
      start.Wait();
      report.woke = absl::Now();
      report.waited = report.woke - began;
    });
    pyconc::cli::ExitIfError(workers.back().Start());
  }
  absl::SleepFor(
      absl::Milliseconds(FLAGS_delay_ms));  // The main thread's preparation.
  const absl::Time set_at = absl::Now();
  start.Set();
  for (threading::Thread& worker : workers) worker.Join();

  absl::PrintF("%d workers waited on one Event; Set() after %d ms.\n\n",
               FLAGS_workers, FLAGS_delay_ms);
  absl::PrintF("  %-10s %12s %20s\n", "worker", "waited", "woke after Set()");
  std::vector<absl::Duration> latencies;
  for (int i = 0; i < FLAGS_workers; ++i) {
    const absl::Duration latency =
        std::max(absl::ZeroDuration(), reports[i].woke - set_at);
    latencies.push_back(latency);
    absl::PrintF("  %-10s %12s %20s\n", workers[i].name(),
                 cli::FormatDuration(reports[i].waited),
                 cli::FormatDuration(latency));
  }
  std::sort(latencies.begin(), latencies.end());
  absl::PrintF(
      "\nAll %d workers woke from one Set(): median wake latency %s, slowest "
      "%s.\n",
      FLAGS_workers, cli::FormatDuration(latencies[latencies.size() / 2]),
      cli::FormatDuration(latencies.back()));

  // A worker that began waiting before Set() was held by the Event until it.
  int held = 0;
  for (const Report& report : reports)
    held += report.woke - report.waited < set_at;
  cli::Claim(
      "Wait() blocks until another thread calls Set(), and one Set() wakes "
      "every waiting thread.",
      absl::StrFormat("%d of %d workers were waiting before the one Set() and "
                      "all went on after it (slowest %s after).",
                      held, FLAGS_workers,
                      cli::FormatDuration(latencies.back())),
      held == FLAGS_workers,
      "some workers had not begun waiting when Set() came; raise --delay_ms");
  return 0;
}

}  // namespace
}  // namespace pyconc::sync

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, pyconc::sync::kUsage, __FILE__);
  pyconc::cli::CheckFlagRange("workers", FLAGS_workers, 1, 256);
  pyconc::cli::CheckFlagRange("delay_ms", FLAGS_delay_ms, 0, 60000);
  return pyconc::sync::Main();
}
