// async/await: coroutines awaited one after another take the sum of their
// times.
#include <cstdio>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "asyncio/asyncio.h"
#include "gflags/gflags.h"
#include "tools/cli/cli.h"

DEFINE_int32(jobs, 3, "How many coroutines to await, one after another.");
DEFINE_int32(latency_ms, 100, "How long each one waits (a simulated I/O).");

namespace {

namespace aio = pyconc::asyncio;

constexpr char kLesson[] =
    "async/await in C++20: a function returning Coroutine<T> is an `async "
    "def`; calling\n"
    "it runs nothing, `co_await` runs it and gives its value. Awaiting "
    "coroutines one\n"
    "after another is still sequential: the total is the sum of the waits. "
    "(The next\n"
    "topic, create_task, runs them concurrently.)\n\n"
    "Usage: bazel run //asyncio/async_await -- [--jobs=N] [--latency_ms=MS]";

aio::Coroutine<int> Fetch(int id, absl::Time start) {
  std::printf("  %8.1f ms  fetch %d starts\n",
              absl::ToDoubleMilliseconds(absl::Now() - start), id);
  co_await aio::Sleep(absl::Milliseconds(FLAGS_latency_ms));
  std::printf("  %8.1f ms  fetch %d done\n",
              absl::ToDoubleMilliseconds(absl::Now() - start), id);
  co_return id * 10;
}

aio::Coroutine<int> Main() {
  const absl::Time start = absl::Now();
  int total = 0;
  for (int i = 1; i <= FLAGS_jobs; ++i) total += co_await Fetch(i, start);
  co_return total;
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("jobs", FLAGS_jobs, 1, 1000);
  pyconc::cli::CheckFlagRange("latency_ms", FLAGS_latency_ms, 0, 60000);
  int total = 0;
  const absl::Duration elapsed =
      pyconc::cli::Measure([&] { total = aio::Run(Main()); });
  std::printf("\n  %-10s %12s   (%d awaits of %d ms, one after another)\n",
              "elapsed", pyconc::cli::FormatDuration(elapsed).c_str(),
              FLAGS_jobs, FLAGS_latency_ms);
  std::printf("  %-10s %12d\n", "results", total);
  std::printf("  claim: sequential awaits take the sum, %d ms\n",
              FLAGS_jobs * FLAGS_latency_ms);
  return 0;
}
