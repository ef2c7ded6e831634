// asyncio semaphore: N simulated downloads started at once, at most K of
// them in flight, limited by an asyncio Semaphore; the most in flight is
// measured and compared with K.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "asyncio/asyncio.h"
#include "gflags/gflags.h"
#include "tools/cli/cli.h"

DEFINE_int32(downloads, 12, "Downloads to run, all started at once.");
DEFINE_int32(limit, 3, "How many may be in flight at once (the Semaphore).");
DEFINE_int32(download_ms, 50, "How long one download takes (a Sleep).");

namespace {

namespace aio = pyconc::asyncio;

constexpr char kLesson[] =
    "asyncio semaphore: Semaphore(K) lets at most K tasks into a block at "
    "once; the\n"
    "others wait in `co_await Hold(sem)` (Python's `async with sem:`) in "
    "FIFO order and\n"
    "enter as units come back. It is how a crawler limits its open "
    "connections while\n"
    "it starts every download at once. BoundedSemaphore also catches a "
    "release too many.";

// Downloads beyond this many are summarized, not listed one by one.
constexpr int kListed = 20;

struct Crawl {
  aio::BoundedSemaphore slots{FLAGS_limit};
  absl::Time start;
  int in_flight = 0;
  int max_in_flight = 0;
  int done = 0;
};

double Ms(const Crawl& crawl) {
  return absl::ToDoubleMilliseconds(absl::Now() - crawl.start);
}

aio::Coroutine<void> Download(Crawl* crawl, int id) {
  auto held = co_await aio::Hold(crawl->slots);  // async with sem:
  crawl->max_in_flight = std::max(crawl->max_in_flight, ++crawl->in_flight);
  if (id < kListed) {
    std::printf("  %8.1f ms  download %2d starts   in flight %d\n", Ms(*crawl),
                id, crawl->in_flight);
  }
  co_await aio::Sleep(absl::Milliseconds(FLAGS_download_ms));
  --crawl->in_flight;
  ++crawl->done;
  if (id < kListed) {
    std::printf("  %8.1f ms  download %2d done\n", Ms(*crawl), id);
  }
}

aio::Coroutine<absl::Duration> Main(Crawl* crawl) {
  crawl->start = absl::Now();
  std::vector<aio::Task<void>> downloads;
  for (int id = 0; id < FLAGS_downloads; ++id) {
    downloads.push_back(aio::CreateTask(Download(crawl, id)));
  }
  co_await aio::Gather(downloads);
  co_return absl::Now() - crawl->start;
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("downloads", FLAGS_downloads, 1, 100000);
  pyconc::cli::CheckFlagRange("limit", FLAGS_limit, 1, 10000);
  pyconc::cli::CheckFlagRange("download_ms", FLAGS_download_ms, 0, 10000);
  const int rounds = (FLAGS_downloads + FLAGS_limit - 1) / FLAGS_limit;
  const double expected_s = 1e-3 * rounds * FLAGS_download_ms;
  if (expected_s > 30) {
    pyconc::cli::Fail(absl::StrFormat(
        "ceil(--downloads / --limit) * --download_ms is %.0f s; keep it under "
        "30 s",
        expected_s));
  }

  Crawl crawl;
  pyconc::cli::Heading(absl::StrFormat("%d downloads of %d ms, Semaphore(%d)",
                                       FLAGS_downloads, FLAGS_download_ms,
                                       FLAGS_limit));
  const absl::Duration elapsed = aio::Run(Main(&crawl));
  if (FLAGS_downloads > kListed) {
    std::printf("  ... and %d more downloads, not listed\n",
                FLAGS_downloads - kListed);
  }

  const int expected_max = std::min(FLAGS_limit, FLAGS_downloads);
  const double rounds_ms = rounds * FLAGS_download_ms;
  pyconc::cli::Claim(
      "An asyncio.Semaphore(K) lets at most K tasks into `async with sem:` "
      "at once, so N downloads started together run K at a time and take "
      "about ceil(N / K) download times.",
      absl::StrFormat(
          "at most %d of %d downloads were in flight with K = %d; they took "
          "%s, %.2fx ceil(N / K) x %d ms = %.0f ms.",
          crawl.max_in_flight, FLAGS_downloads, FLAGS_limit,
          pyconc::cli::FormatDuration(elapsed),
          rounds_ms > 0 ? absl::ToDoubleMilliseconds(elapsed) / rounds_ms : 1.0,
          FLAGS_download_ms, rounds_ms),
      crawl.max_in_flight == expected_max && crawl.done == FLAGS_downloads,
      crawl.done != FLAGS_downloads ? "a download did not finish"
                                    : "the number in flight was not min(K, N)");
  return crawl.max_in_flight == expected_max && crawl.done == FLAGS_downloads
             ? 0
             : 1;
}
