// The multithreading example's scraper on one thread: asyncio tasks fetch the
// quote pages (http::Client on libcurl's multi interface), an asyncio
// Semaphore bounds how many are in flight, and the threaded scraper's parser
// reads them. Each run (sequential, threads, asyncio) is a child process of
// this tool, so its elapsed time, the threads it used and its peak memory are
// its own; all of them scrape the same embedded quote server.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "asyncio/gather.h"
#include "asyncio/http/client.h"
#include "asyncio/locks.h"
#include "asyncio/run.h"
#include "asyncio/task.h"
#include "gflags/gflags.h"
#include "threading/stocks/parse.h"
#include "threading/stocks/scraper.h"
#include "threading/stocks/server.h"
#include "tools/cli/cli.h"

DEFINE_string(counts, "10,1000",
              "Comma-separated numbers of symbols; each is scraped by every "
              "run.");
DEFINE_int32(limit, 100,
             "asyncio: pages in flight at once (an asyncio Semaphore).");
DEFINE_int32(workers, 100, "threads: worker threads (at most one per symbol).");
DEFINE_int32(delay_ms, 20,
             "Latency of each page of the embedded quote server.");
DEFINE_int32(timeout_ms, 5000, "Time limit of one HTTP attempt.");
DEFINE_int32(retries, 2,
             "Retries (with back-off) of an HTTP 5xx, a timeout or a reset.");
DEFINE_bool(sequential, true,
            "Also run one symbol after another (count x delay_ms each).");
// How the tool runs itself once per measurement; not for users.
DEFINE_string(child_run, "", "internal: the run this child process makes");
DEFINE_string(child_url, "", "internal: the quote server's URL template");
DEFINE_int32(child_count, 0, "internal: how many symbols");

namespace {

using pyconc::stocks::Quote;

constexpr char kLesson[] =
    "The multithreading example's stock scraper on ONE thread: asyncio tasks "
    "wait\n"
    "for the quote server together (libcurl's multi interface driven by the "
    "event\n"
    "loop), an asyncio Semaphore bounds how many are in flight, the same "
    "XPath\n"
    "parser reads the pages. Each run (sequential, threads, asyncio) is its "
    "own\n"
    "process, so its elapsed time, threads and peak memory are measured "
    "apart.";

constexpr const char* kRuns[] = {"sequential", "threads", "asyncio"};

// Threads in this process now (/proc/self/status).
int ThreadsNow() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    int threads = 0;
    if (absl::StartsWith(line, "Threads:") &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(8)),
                         &threads)) {
      return threads;
    }
  }
  return 0;
}

// The made-up tickers T0001, T0002, ...
std::vector<std::string> Symbols(int count) {
  std::vector<std::string> symbols;
  for (int i = 1; i <= count; ++i)
    symbols.push_back(absl::StrFormat("T%04d", i));
  return symbols;
}

pyconc::stocks::ScrapeOptions Options(const std::string& url) {
  return {.url_template = url,
          .workers = FLAGS_workers,
          .fetch = {.timeout = absl::Milliseconds(FLAGS_timeout_ms),
                    .max_retries = FLAGS_retries}};
}

// One symbol on the loop: the threaded ScrapeOne, with an awaited GET.
pyconc::asyncio::Coroutine<Quote> ScrapeOne(
    pyconc::asyncio::http::Client& client, pyconc::asyncio::Semaphore& limit,
    std::string symbol, const pyconc::stocks::ScrapeOptions& options,
    int* max_threads) {
  auto held = co_await pyconc::asyncio::Hold(limit);
  Quote quote;
  quote.symbol = symbol;
  const absl::Time start = absl::Now();
  absl::StatusOr<pyconc::stocks::Page> page = co_await client.Get(
      pyconc::stocks::QuoteUrl(options.url_template, symbol));
  if (!page.ok()) {
    quote.status = page.status();
  } else {
    quote.attempts = page->attempts;
    absl::StatusOr<pyconc::stocks::QuoteFields> fields =
        pyconc::stocks::ParseQuote(page->body, options.price_xpath,
                                   options.change_xpath);
    if (!fields.ok()) {
      quote.status = fields.status();
    } else {
      quote.price = fields->price;
      quote.change = fields->change;
    }
  }
  quote.fetch_time = absl::Now() - start;
  *max_threads = std::max(*max_threads, ThreadsNow());
  co_return quote;
}

pyconc::asyncio::Coroutine<std::vector<Quote>> ScrapeAll(
    const std::vector<std::string>& symbols,
    const pyconc::stocks::ScrapeOptions& options, int* max_threads) {
  pyconc::asyncio::http::Client client(options.fetch);
  pyconc::asyncio::Semaphore limit(FLAGS_limit);
  std::vector<pyconc::asyncio::Task<Quote>> tasks;
  tasks.reserve(symbols.size());
  for (const std::string& symbol : symbols) {
    tasks.push_back(pyconc::asyncio::GetRunningLoop().CreateTask(
        ScrapeOne(client, limit, symbol, options, max_threads)));
  }
  std::vector<Quote> quotes = co_await pyconc::asyncio::Gather(tasks);
  co_return quotes;
}

// The child: one run; prints "elapsed_ns threads ok failed" and the first
// error on its own line.
int ChildRun() {
  const std::vector<std::string> symbols = Symbols(FLAGS_child_count);
  pyconc::stocks::ScrapeOptions options = Options(FLAGS_child_url);
  pyconc::stocks::InitHttp();
  pyconc::stocks::InitHtml();
  int max_threads = ThreadsNow();
  std::vector<Quote> quotes;
  const absl::Duration elapsed = pyconc::cli::Measure([&] {
    if (FLAGS_child_run == "asyncio") {
      quotes = pyconc::asyncio::Run(ScrapeAll(symbols, options, &max_threads));
      return;
    }
    options.mode = FLAGS_child_run == "threads"
                       ? pyconc::stocks::Mode::kThreads
                       : pyconc::stocks::Mode::kSequential;
    // Called on the workers while they run, so they are counted.
    options.on_done = [&max_threads](const Quote&, int, int) {
      max_threads = std::max(max_threads, ThreadsNow());
    };
    absl::StatusOr<std::vector<Quote>> scraped =
        pyconc::stocks::Scrape(symbols, options);
    if (scraped.ok()) quotes = *std::move(scraped);
  });
  int ok = 0;
  std::string first_error;
  for (const Quote& quote : quotes) {
    if (quote.status.ok()) {
      ++ok;
    } else if (first_error.empty()) {
      first_error = absl::StrCat(quote.symbol, ": ", quote.status.message());
    }
  }
  std::printf("%lld %d %d %d\n%s\n",
              static_cast<long long>(absl::ToInt64Nanoseconds(elapsed)),
              max_threads, ok, FLAGS_child_count - ok, first_error.c_str());
  return 0;
}

// What one child run measured.
struct Measured {
  absl::Duration elapsed;
  int threads = 0;
  long peak_kib = 0;  // NOLINT(runtime/int): rusage's type.
  int ok = 0;
  int failed = 0;
  std::string first_error;
};

// Runs this tool as a child making `run` over `count` symbols of `url`.
absl::StatusOr<Measured> Measure(const std::string& run, int count,
                                 const std::string& url) {
  std::vector<std::string> args = {
      "/proc/self/exe",
      absl::StrCat("--child_run=", run),
      absl::StrCat("--child_url=", url),
      absl::StrCat("--child_count=", count),
      absl::StrCat("--limit=", FLAGS_limit),
      absl::StrCat("--workers=", FLAGS_workers),
      absl::StrCat("--timeout_ms=", FLAGS_timeout_ms),
      absl::StrCat("--retries=", FLAGS_retries)};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  std::string text;
  if (spawned == 0) {
    char buffer[4096];
    ssize_t n;
    while ((n = read(out[0], buffer, sizeof(buffer))) > 0)
      text.append(buffer, n);
  }
  close(out[0]);
  if (spawned != 0) {
    return absl::InternalError(
        absl::StrCat("cannot start a run: ", std::strerror(spawned)));
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  const std::vector<std::string> lines =
      absl::StrSplit(text, absl::MaxSplits('\n', 1));
  const std::vector<std::string> fields =
      absl::StrSplit(lines[0], ' ', absl::SkipEmpty());
  Measured measured;
  long long ns = 0;  // NOLINT(runtime/int)
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || fields.size() != 4 ||
      !absl::SimpleAtoi(fields[0], &ns) ||
      !absl::SimpleAtoi(fields[1], &measured.threads) ||
      !absl::SimpleAtoi(fields[2], &measured.ok) ||
      !absl::SimpleAtoi(fields[3], &measured.failed)) {
    return absl::InternalError(
        absl::StrCat("the ", run, " run of ", count, " symbols failed"));
  }
  measured.elapsed = absl::Nanoseconds(ns);
  measured.peak_kib = usage.ru_maxrss;
  if (lines.size() > 1) {
    measured.first_error =
        std::string(absl::StripTrailingAsciiWhitespace(lines[1]));
  }
  return measured;
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  if (!FLAGS_child_run.empty()) return ChildRun();
  pyconc::cli::CheckFlagRange("limit", FLAGS_limit, 1, 1000);
  pyconc::cli::CheckFlagRange("workers", FLAGS_workers, 1, 200);
  pyconc::cli::CheckFlagRange("delay_ms", FLAGS_delay_ms, 0, 1000);
  pyconc::cli::CheckFlagRange("timeout_ms", FLAGS_timeout_ms, 1, 30000);
  pyconc::cli::CheckFlagRange("retries", FLAGS_retries, 0, 5);
  std::vector<int> counts;
  for (absl::string_view text :
       absl::StrSplit(FLAGS_counts, ',', absl::SkipEmpty())) {
    int count = 0;
    if (!absl::SimpleAtoi(text, &count) || count < 1 || count > 10000) {
      pyconc::cli::Fail(
          absl::StrCat("--counts must list numbers in [1, "
                       "10000], not \"",
                       text, "\""));
    }
    counts.push_back(count);
  }
  if (counts.empty()) pyconc::cli::Fail("--counts lists no number");

  // Enough server workers that the server is not what limits the runs.
  absl::StatusOr<std::unique_ptr<pyconc::stocks::QuoteServer>> server =
      pyconc::stocks::QuoteServer::Start(
          {.delay = absl::Milliseconds(FLAGS_delay_ms),
           .threads = std::max(FLAGS_limit, FLAGS_workers) + 8,
           .max_connections = 2 * std::max(FLAGS_limit, FLAGS_workers) + 16});
  if (!server.ok()) pyconc::cli::Fail(server.status().message());
  const std::string url = (*server)->UrlTemplate();
  std::printf(
      "Scraping quote pages from %s  (embedded quote server, %d ms per "
      "page)\n"
      "threads: %d worker threads; asyncio: one thread, at most %d in "
      "flight\n\n",
      url.c_str(), FLAGS_delay_ms, FLAGS_workers, FLAGS_limit);
  std::printf("  %7s  %-10s %10s %8s %12s  %s\n", "symbols", "run", "elapsed",
              "threads", "peak memory", "quotes");
  bool all_ok = true;
  // The largest count's runs, for the claim.
  Measured threads_run, asyncio_run, sequential_run;
  for (int count : counts) {
    for (const char* run : kRuns) {
      if (!FLAGS_sequential && std::string(run) == "sequential") continue;
      absl::StatusOr<Measured> m = Measure(run, count, url);
      if (!m.ok()) pyconc::cli::Fail(m.status().message());
      std::printf(
          "  %7d  %-10s %10s %8d %9.1f MiB  %d ok, %d failed%s%s\n", count, run,
          pyconc::cli::FormatDuration(m->elapsed).c_str(), m->threads,
          m->peak_kib / 1024.0, m->ok, m->failed,
          m->first_error.empty() ? "" : "  first: ", m->first_error.c_str());
      std::fflush(stdout);
      all_ok = all_ok && m->failed == 0;
      if (count == counts.back()) {
        (std::string(run) == "threads"   ? threads_run
         : std::string(run) == "asyncio" ? asyncio_run
                                         : sequential_run) = *m;
      }
    }
  }
  const int largest = counts.back();
  const bool one_thread = asyncio_run.threads == 1;
  const bool as_fast = asyncio_run.elapsed <= threads_run.elapsed * 1.5;
  const bool smaller = asyncio_run.peak_kib <= threads_run.peak_kib;
  pyconc::cli::Claim(
      "A scraper spends its time waiting for servers, and one thread with "
      "asyncio overlaps those waits as well as a thread per request does: as "
      "fast as the threaded scraper, on one thread, in less memory.",
      absl::StrFormat(
          "%d symbols: asyncio %s on %d thread (%.1f MiB), threads %s on %d "
          "threads (%.1f MiB)%s.",
          largest, pyconc::cli::FormatDuration(asyncio_run.elapsed),
          asyncio_run.threads, asyncio_run.peak_kib / 1024.0,
          pyconc::cli::FormatDuration(threads_run.elapsed), threads_run.threads,
          threads_run.peak_kib / 1024.0,
          FLAGS_sequential
              ? absl::StrCat(", sequential ", pyconc::cli::FormatDuration(
                                                  sequential_run.elapsed))
              : ""),
      all_ok && one_thread && as_fast && smaller,
      !all_ok       ? "not every quote was scraped"
      : !one_thread ? "the asyncio run used more than one thread"
      : !as_fast    ? "the asyncio run was more than 1.5x slower than the "
                      "threads"
                    : "the asyncio run took more memory than the threads");
  return all_ok ? 0 : 1;
}
