// The multiprocessing tutorial's lesson, measured: CPU-bound jobs run one after
// another, then each in its own Process, which (unlike a thread in Python)
// runs on its own core.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "multiprocessing/process/process.h"
#include "multiprocessing/process/queue.h"
#include "tools/cli/cli.h"

DEFINE_int32(processes, 0,
             "How many CPU-bound jobs, each in its own process (0: one per "
             "core).");
DEFINE_int32(
    limit, 3000000,
    "Each job counts the primes below this number, by trial division.");

namespace {

constexpr char kLesson[] =
    "multiprocessing.Process in C++: run CPU-bound jobs one after another, "
    "then each in\n"
    "its own pyconc::multiprocessing::Process (Start, then Join), results "
    "coming back\n"
    "through a multiprocessing Queue. Each process has its own core, so N "
    "jobs in N\n"
    "processes take about as long as one job when N cores are free: the "
    "speed-up\n"
    "approaches min(N, cores). (In Python this is how CPU-bound work escapes "
    "the GIL.)";

// The job: how many primes lie below `limit` (deliberately naive, so that it
// costs CPU and nothing else).
int64_t CountPrimes(int limit) {
  int64_t count = 0;
  for (int n = 2; n < limit; ++n) {
    bool prime = true;
    for (int d = 2; d * d <= n; ++d) {
      if (n % d == 0) {
        prime = false;
        break;
      }
    }
    count += prime ? 1 : 0;
  }
  return count;
}

// What each child runs: one job, its answer sent back as (job, count).
void Worker(int job, int limit,
            pyconc::multiprocessing::Queue<std::pair<int, int64_t>> results) {
  (void)results.Put({job, CountPrimes(limit)});
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  const int cores = pyconc::multiprocessing::CpuCount();
  if (FLAGS_processes == 0) FLAGS_processes = cores;
  pyconc::cli::CheckFlagRange("processes", FLAGS_processes, 1, 256);
  pyconc::cli::CheckFlagRange("limit", FLAGS_limit, 2, 100000000);
  using pyconc::multiprocessing::Process;
  using pyconc::multiprocessing::Queue;

  std::printf("%d CPU-bound jobs (count the primes below %d), %d cores\n",
              FLAGS_processes, FLAGS_limit, cores);
  int64_t sequential_total = 0;
  const absl::Duration sequential = pyconc::cli::Measure([&] {
    for (int i = 0; i < FLAGS_processes; ++i) {
      sequential_total += CountPrimes(FLAGS_limit);
    }
  });

  Queue<std::pair<int, int64_t>> results;
  std::deque<Process> processes;
  int64_t parallel_total = 0;
  int failed = 0;
  const absl::Duration parallel = pyconc::cli::Measure([&] {
    for (int i = 0; i < FLAGS_processes; ++i) {
      processes.emplace_back(&Worker, i, FLAGS_limit, results);
      pyconc::cli::ExitIfError(processes.back().Start());
    }
    // Put() hands the item to the kernel before the child exits, so after
    // Join() every result that will ever come is in the queue: no hang when a
    // child dies.
    for (Process& process : processes) {
      process.Join();
      if (process.ExitCode() != 0) ++failed;
    }
    for (auto result = results.GetNowait(); result.ok();
         result = results.GetNowait()) {
      parallel_total += result->second;
    }
  });
  if (failed > 0 || parallel_total != sequential_total) {
    std::fprintf(stderr, "%d of the processes failed\n", failed);
    return 1;
  }

  std::printf("  %-12s %12s   one job after another, in this process\n",
              "sequential", pyconc::cli::FormatDuration(sequential).c_str());
  std::printf("  %-12s %12s   %d processes, started then joined\n", "processes",
              pyconc::cli::FormatDuration(parallel).c_str(), FLAGS_processes);
  std::printf(
      "  %-12s %10.2f x   (ideal: %d x, the smaller of jobs and cores; "
      "starting a process costs ~1 ms)\n",
      "speed-up", absl::FDivDuration(sequential, parallel),
      std::min(FLAGS_processes, cores));
  std::printf("\n%lld primes found by each job; pids:",
              static_cast<long long>(sequential_total / FLAGS_processes));
  for (const Process& process : processes) {
    std::printf(" %d", static_cast<int>(process.pid()));
  }
  std::printf(" (this process: %s)\n\n",
              pyconc::multiprocessing::CurrentProcessName().c_str());
  // What the machine could give a CPU-bound run just now caps the speed-up.
  const double speed_up = absl::FDivDuration(sequential, parallel);
  const double free_cores = pyconc::cli::MeasureFreeCores(FLAGS_processes);
  const double cap = std::min<double>(FLAGS_processes, free_cores);
  pyconc::cli::Claim(
      "CPU-bound jobs, each in its own Process, run in parallel on separate "
      "cores: N jobs take about as long as one when N cores are free.",
      absl::StrFormat("%.2fx with %d processes; this machine could give %.1f "
                      "cores just now.",
                      speed_up, FLAGS_processes, free_cores),
      FLAGS_processes > 1 && speed_up >= 0.75 * cap && cap >= 1.5,
      FLAGS_processes == 1 ? "one process cannot run in parallel with itself"
      : cap < 1.5 ? absl::StrFormat("the machine had only %.1f free cores; the "
                                    "speed-up is capped there",
                                    free_cores)
                  : "the processes did not keep their cores busy");
  return 0;
}
