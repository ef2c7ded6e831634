// async/await: coroutines awaited one after another take the sum of their
// times.
#include <cstdio>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "asyncio/asyncio.h"
#include "gflags/gflags.h"
#include "tools/cli/cli.h"

DEFINE_int32(jobs, 3, "How many coroutines to await, one after another.");
DEFINE_int32(latency_ms, 100,
             "How long each one waits (a simulated I/O); //asyncio/create_task "
             "runs the same jobs as tasks.");

namespace {

namespace aio = pyconc::asyncio;

constexpr char kLesson[] =
    "async/await in C++20: a function returning Coroutine<T> is an `async "
    "def`; calling\n"
    "it runs nothing, `co_await` runs it and gives its value. Awaiting "
    "coroutines one\n"
    "after another is still sequential: the total is the sum of the waits. "
    "(The next\n"
    "topic, create_task, runs them concurrently.)";

// Returns its id, which main's co_await gets back.
aio::Coroutine<int> Fetch(int id, absl::Time start) {
  std::printf("  %8.1f ms  fetch %d starts\n",
              absl::ToDoubleMilliseconds(absl::Now() - start), id);
  co_await aio::Sleep(absl::Milliseconds(FLAGS_latency_ms));
  std::printf("  %8.1f ms  fetch %d done\n",
              absl::ToDoubleMilliseconds(absl::Now() - start), id);
  co_return id;
}

aio::Coroutine<void> Main() {
  const absl::Time start = absl::Now();
  for (int i = 1; i <= FLAGS_jobs; ++i) {
    const int value = co_await Fetch(i, start);
    std::printf(
        "  %8.1f ms  main's co_await gives back %d (fetch %d's "
        "co_return)\n",
        absl::ToDoubleMilliseconds(absl::Now() - start), value, i);
  }
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("jobs", FLAGS_jobs, 1, 1000);
  pyconc::cli::CheckFlagRange("latency_ms", FLAGS_latency_ms, 0, 60000);
  const absl::Duration elapsed =
      pyconc::cli::Measure([&] { aio::Run(Main()); });
  const absl::Duration sum = absl::Milliseconds(FLAGS_latency_ms) * FLAGS_jobs;
  std::printf("\n  %-10s %12s   (%d awaits of %d ms, one after another)\n",
              "elapsed", pyconc::cli::FormatDuration(elapsed).c_str(),
              FLAGS_jobs, FLAGS_latency_ms);
  pyconc::cli::Claim(
      "Coroutines awaited one after another still run one after another: the "
      "total is the sum of their waits (create_task runs them together).",
      absl::StrFormat("%d awaits of %d ms took %s; the sum of the waits is "
                      "%s.",
                      FLAGS_jobs, FLAGS_latency_ms,
                      pyconc::cli::FormatDuration(elapsed),
                      pyconc::cli::FormatDuration(sum)),
      FLAGS_jobs > 1 && FLAGS_latency_ms > 0 && elapsed >= sum * 0.9,
      FLAGS_jobs == 1 || FLAGS_latency_ms == 0
          ? "one job, or jobs that do not wait, cannot tell the sum from the "
            "longest; use --jobs=2 or more and --latency_ms above 0"
          : "the awaits took less than the sum of their waits");
  return 0;
}
