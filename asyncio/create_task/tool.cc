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
             "How long the longest job waits; job i waits i/jobs of it.");

namespace {

namespace aio = pyconc::asyncio;

constexpr char kLesson[] =
    "Creating tasks: CreateTask(coro) schedules a coroutine on the loop and "
    "returns a\n"
    "Task at once; the task runs whenever the creator awaits something. "
    "Tasks waiting\n"
    "on I/O wait together, so the total is about the longest job, not the "
    "sum.\n"
    "`co_await task` gives its value (or rethrows its exception).\n\n"
    "Usage: bazel run //asyncio/create_task -- [--jobs=N] [--latency_ms=MS]";

aio::Coroutine<int> Fetch(int id, absl::Duration wait, absl::Time start) {
  std::printf("  %8.1f ms  %s starts\n",
              absl::ToDoubleMilliseconds(absl::Now() - start),
              aio::CurrentTask()->name().c_str());
  co_await aio::Sleep(wait);
  std::printf("  %8.1f ms  %s done\n",
              absl::ToDoubleMilliseconds(absl::Now() - start),
              aio::CurrentTask()->name().c_str());
  co_return id * 10;
}

aio::Coroutine<int> Main(absl::Duration* sum_of_waits) {
  const absl::Time start = absl::Now();
  std::vector<aio::Task<int>> tasks;
  for (int i = 1; i <= FLAGS_jobs; ++i) {
    const absl::Duration wait =
        absl::Milliseconds(FLAGS_latency_ms) * i / FLAGS_jobs;
    *sum_of_waits += wait;
    tasks.push_back(aio::CreateTask(Fetch(i, wait, start),
                                    {.name = absl::StrFormat("fetch-%d", i)}));
  }
  std::printf("  %8.1f ms  %d tasks created; main awaits them\n",
              absl::ToDoubleMilliseconds(absl::Now() - start), FLAGS_jobs);
  int total = 0;
  for (aio::Task<int>& task : tasks) total += co_await task;
  co_return total;
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("jobs", FLAGS_jobs, 1, 100000);
  pyconc::cli::CheckFlagRange("latency_ms", FLAGS_latency_ms, 0, 60000);
  int total = 0;
  absl::Duration sum = absl::ZeroDuration();
  const absl::Duration elapsed =
      pyconc::cli::Measure([&] { total = aio::Run(Main(&sum)); });
  std::printf("\n  %-16s %12s\n", "elapsed",
              pyconc::cli::FormatDuration(elapsed).c_str());
  std::printf("  %-16s %12s   (what awaiting one by one would take)\n",
              "sum of the waits", pyconc::cli::FormatDuration(sum).c_str());
  std::printf("  %-16s %12d\n", "results", total);
  std::printf("  claim: concurrent tasks take about the longest, %d ms\n",
              FLAGS_latency_ms);
  return 0;
}
