// The threading tutorial's first lesson, measured: I/O-bound jobs run one after
// another, then each on its own Thread.
#include <algorithm>
#include <cstdio>
#include <deque>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "threading/thread/thread.h"
#include "tools/cli/cli.h"

DEFINE_int32(jobs, 8, "How many I/O-bound jobs to run.");
DEFINE_int32(
    latency_ms, 200,
    "How long each job waits on its (simulated) I/O, e.g. a slow server.");

namespace {

constexpr char kLesson[] =
    "threading.Thread in C++: run I/O-bound jobs one after another, then each "
    "on its\n"
    "own pyconc::threading::Thread (Start, then Join), and compare the elapsed "
    "times.\n"
    "A thread blocked on I/O costs nothing, so N jobs on N threads take about "
    "as long\n"
    "as one job: the speed-up approaches N. (Each job blocks for --latency_ms, "
    "as a\n"
    "socket read from a slow server would.)";

// One job: a download that spends its time waiting for the network.
void IoBoundJob() { absl::SleepFor(absl::Milliseconds(FLAGS_latency_ms)); }

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("jobs", FLAGS_jobs, 1, 1000);
  pyconc::cli::CheckFlagRange("latency_ms", FLAGS_latency_ms, 0, 60000);
  using pyconc::threading::Thread;

  std::printf("%d I/O-bound jobs of %d ms each\n", FLAGS_jobs,
              FLAGS_latency_ms);
  const absl::Duration sequential = pyconc::cli::Measure([] {
    for (int i = 0; i < FLAGS_jobs; ++i) IoBoundJob();
  });

  std::deque<Thread> threads;
  const absl::Duration threaded = pyconc::cli::Measure([&threads] {
    for (int i = 0; i < FLAGS_jobs; ++i) {
      threads.emplace_back(&IoBoundJob);
      pyconc::cli::ExitIfError(threads.back().Start());
    }
    for (Thread& thread : threads) thread.Join();
  });

  std::printf("  %-12s %12s   one job after another\n", "sequential",
              pyconc::cli::FormatDuration(sequential).c_str());
  std::printf("  %-12s %12s   %d threads, started then joined\n", "threaded",
              pyconc::cli::FormatDuration(threaded).c_str(), FLAGS_jobs);
  std::printf(
      "  %-12s %10.2f x   (ideal: %d x; the threads wait in parallel)\n",
      "speed-up", absl::FDivDuration(sequential, threaded), FLAGS_jobs);

  const double speed_up = absl::FDivDuration(sequential, threaded);
  pyconc::cli::Claim(
      "A thread blocked on I/O costs nothing, so N I/O-bound jobs on N "
      "threads take about as long as one job: the speed-up approaches N.",
      absl::StrFormat("%d jobs took %s one after another and %s on %d "
                      "threads: %.2fx.",
                      FLAGS_jobs, pyconc::cli::FormatDuration(sequential),
                      pyconc::cli::FormatDuration(threaded), FLAGS_jobs,
                      speed_up),
      FLAGS_jobs > 1 && FLAGS_latency_ms > 0 && speed_up >= FLAGS_jobs / 2.0,
      FLAGS_jobs == 1 ? "one job has nothing to overlap; use --jobs=2 or more"
      : FLAGS_latency_ms == 0
          ? "with --latency_ms=0 there is no wait to overlap"
          : "starting the threads cost more than the waits "
            "saved; raise --latency_ms");

  const int listed = std::min<int>(FLAGS_jobs, 3);
  std::printf("\nThe first %d threads (name, ident, native_id; daemon=%s):\n",
              listed, threads.front().daemon() ? "true" : "false");
  for (int i = 0; i < listed; ++i) {
    std::printf("  %-10s ident=%-16llx native_id=%lld\n",
                threads[i].name().c_str(),
                static_cast<unsigned long long>(threads[i].ident()),
                static_cast<long long>(threads[i].native_id()));
  }
  std::printf("  %-10s ident=%-16llx native_id=%lld (this thread)\n",
              pyconc::threading::CurrentThread().name().c_str(),
              static_cast<unsigned long long>(pyconc::threading::GetIdent()),
              static_cast<long long>(pyconc::threading::GetNativeId()));
  return 0;
}
