// N jobs limited to K at a time by a Semaphore; the concurrency observed is
// measured.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <deque>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "sync/lock/lock.h"
#include "sync/semaphore/semaphore.h"
#include "threading/thread/thread.h"
#include "tools/cli/cli.h"

DEFINE_int32(jobs, 12, "jobs to run, one thread each");
DEFINE_int32(limit, 3, "how many jobs may run at once (the semaphore's value)");
DEFINE_int32(job_ms, 20, "how long each job works");

namespace pyconc::sync {
namespace {

constexpr char kUsage[] =
    "A Semaphore holds a number of permits: Acquire() takes one, waiting while "
    "none is\n"
    "left, and Release() gives it back. Here --jobs threads each take a permit "
    "around\n"
    "their work, so at most --limit of them run at once, however many are "
    "started.";

int Main() {
  BoundedSemaphore permits(FLAGS_limit);
  std::atomic<int> running{0};
  std::atomic<int> most_running{0};
  const absl::Time start = absl::Now();
  {
    std::deque<threading::Thread> jobs;
    for (int i = 0; i < FLAGS_jobs; ++i) {
      jobs.emplace_back([&] {
        Guard permit(permits);
        const int now = running.fetch_add(1) + 1;
        int most = most_running.load();
        while (now > most && !most_running.compare_exchange_weak(most, now)) {
        }
        absl::SleepFor(absl::Milliseconds(FLAGS_job_ms));  // The job's work.
        running.fetch_sub(1);
      });
      pyconc::cli::ExitIfError(jobs.back().Start());
    }
    for (threading::Thread& job : jobs) job.Join();
  }
  const absl::Duration elapsed = absl::Now() - start;
  const int waves = (FLAGS_jobs + FLAGS_limit - 1) / FLAGS_limit;

  absl::PrintF("BoundedSemaphore(%d): %d jobs of %d ms each.\n\n", FLAGS_limit,
               FLAGS_jobs, FLAGS_job_ms);
  absl::PrintF("  %-28s %10d jobs   (limit %d)\n", "most running at once",
               most_running.load(), FLAGS_limit);
  absl::PrintF(
      "  %-28s %10s        (%d waves x %d ms = %d ms; unlimited: %d ms)\n",
      "wall time", cli::FormatDuration(elapsed), waves, FLAGS_job_ms,
      waves * FLAGS_job_ms, FLAGS_job_ms);
  absl::PrintF(
      "\nThe semaphore let %d jobs run at once, as its %d permits allow.\n",
      most_running.load(), FLAGS_limit);
  // Short jobs may end before the next one starts, so fewer than `limit` may
  // overlap; more than `limit` never may.
  const int expected = std::min(FLAGS_jobs, FLAGS_limit);
  cli::Claim(
      "A Semaphore(K) lets at most K threads into the code it guards at once; "
      "the others wait for a permit.",
      absl::StrFormat("at most %d of %d jobs ran at once with %d permits.",
                      most_running.load(), FLAGS_jobs, FLAGS_limit),
      most_running.load() == expected,
      most_running.load() > FLAGS_limit
          ? "more jobs than permits ran at once"
          : "the jobs were too short to overlap; raise --job_ms");
  if (most_running.load() > FLAGS_limit) {
    std::fprintf(stderr, "error: %d jobs ran at once, above the limit of %d\n",
                 most_running.load(), FLAGS_limit);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace pyconc::sync

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, pyconc::sync::kUsage, __FILE__);
  pyconc::cli::CheckFlagRange("jobs", FLAGS_jobs, 1, 1000);
  pyconc::cli::CheckFlagRange("limit", FLAGS_limit, 1, 1000);
  pyconc::cli::CheckFlagRange("job_ms", FLAGS_job_ms, 0, 1000);
  const int64_t waves = (FLAGS_jobs + FLAGS_limit - 1) / FLAGS_limit;
  if (waves * FLAGS_job_ms > 10000) {
    pyconc::cli::Fail(absl::StrFormat(
        "--jobs=%d with --limit=%d and --job_ms=%d would take %d s; keep "
        "(jobs / limit) x job_ms within 10 s",
        FLAGS_jobs, FLAGS_limit, FLAGS_job_ms, waves * FLAGS_job_ms / 1000));
  }
  return pyconc::sync::Main();
}
