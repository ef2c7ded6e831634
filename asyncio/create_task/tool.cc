// Creating tasks: the same work as async_await, as concurrent tasks; the total
// is about the longest job, not the sum.
#include <cstdio>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "asyncio/asyncio.h"
#include "gflags/gflags.h"
#include "tools/cli/cli.h"

DEFINE_int32(jobs, 3, "How many tasks to create.");
DEFINE_int32(latency_ms, 100,
             "How long each job waits (a simulated I/O), as in "
             "//asyncio/async_await.");

namespace {

namespace aio = pyconc::asyncio;

constexpr char kLesson[] =
    "Creating tasks: CreateTask(coro) schedules a coroutine on the loop and "
    "returns a\n"
    "Task at once; the task runs whenever the creator awaits something. "
    "Tasks waiting\n"
    "on I/O wait together, so the total is about the longest job, not the "
    "sum.\n"
    "`co_await task` gives its value (or rethrows its exception). The jobs "
    "are those\n"
    "of async_await: the same flags give times to compare.";

// Returns its id, which main's co_await of its task gets back.
aio::Coroutine<int> Fetch(int id, absl::Duration wait, absl::Time start) {
  std::printf("  %8.1f ms  %s starts\n",
              absl::ToDoubleMilliseconds(absl::Now() - start),
              aio::CurrentTask()->name().c_str());
  co_await aio::Sleep(wait);
  std::printf("  %8.1f ms  %s done\n",
              absl::ToDoubleMilliseconds(absl::Now() - start),
              aio::CurrentTask()->name().c_str());
  co_return id;
}

aio::Coroutine<void> Main() {
  const absl::Time start = absl::Now();
  const absl::Duration wait = absl::Milliseconds(FLAGS_latency_ms);
  std::vector<aio::Task<int>> tasks;
  for (int i = 1; i <= FLAGS_jobs; ++i) {
    tasks.push_back(aio::CreateTask(Fetch(i, wait, start),
                                    {.name = absl::StrFormat("fetch-%d", i)}));
  }
  std::printf("  %8.1f ms  %d tasks created; main awaits them\n",
              absl::ToDoubleMilliseconds(absl::Now() - start), FLAGS_jobs);
  int checked = 0;  // Values equal to their task's id.
  for (int i = 1; i <= FLAGS_jobs; ++i) {
    checked += co_await tasks[i - 1] == i;
  }
  std::printf(
      "  %8.1f ms  main's co_awaits gave back %d of %d tasks' "
      "co_return values\n",
      absl::ToDoubleMilliseconds(absl::Now() - start), checked, FLAGS_jobs);
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("jobs", FLAGS_jobs, 1, 100000);
  pyconc::cli::CheckFlagRange("latency_ms", FLAGS_latency_ms, 0, 60000);
  const absl::Duration elapsed =
      pyconc::cli::Measure([&] { aio::Run(Main()); });
  const absl::Duration longest = absl::Milliseconds(FLAGS_latency_ms);
  const absl::Duration sum = longest * FLAGS_jobs;
  std::printf("\n  %-16s %12s\n", "elapsed",
              pyconc::cli::FormatDuration(elapsed).c_str());
  std::printf(
      "  %-16s %12s   (what awaiting one by one takes: "
      "//asyncio/async_await)\n",
      "sum of the waits", pyconc::cli::FormatDuration(sum).c_str());
  pyconc::cli::Claim(
      "Tasks waiting on I/O wait together: the total is about the longest "
      "job, not the sum of the jobs as when awaited one by one.",
      absl::StrFormat("%d tasks of %d ms took %s; awaited one by one they take "
                      "the sum, %s.",
                      FLAGS_jobs, FLAGS_latency_ms,
                      pyconc::cli::FormatDuration(elapsed),
                      pyconc::cli::FormatDuration(sum)),
      FLAGS_jobs > 1 && FLAGS_latency_ms > 0 &&
          elapsed < longest + (sum - longest) / 2,
      FLAGS_jobs == 1 || FLAGS_latency_ms == 0
          ? "one job, or jobs that do not wait, cannot tell the sum from the "
            "longest; use --jobs=2 or more and --latency_ms above 0"
          : "the loop was held up; the machine is loaded");
  return 0;
}
