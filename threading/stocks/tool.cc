// The multithreading example for real: scrape stock quotes from web pages one
// after another, then on threads, and compare. With no --url_template the tool
// starts its own quote server on 127.0.0.1, so it runs on any machine.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "threading/stocks/scraper.h"
#include "threading/stocks/server.h"
#include "tools/cli/cli.h"

DEFINE_string(url_template, "",
              "A symbol's quote page, with {symbol}, e.g. "
              "https://example.com/quote/{symbol}. Empty: the embedded quote "
              "server.");
DEFINE_string(xpath, pyconc::stocks::kPriceXPath,
              "XPath of the price on the quote page.");
DEFINE_string(change_xpath, pyconc::stocks::kChangeXPath,
              "XPath of the day's change (empty: none).");
DEFINE_string(symbols,
              "AAPL,MSFT,GOOGL,AMZN,NVDA,META,TSLA,BRK.B,JPM,V,UNH,XOM,JNJ,"
              "WMT,MA,PG,HD,CVX,KO,PEP",
              "Comma-separated symbols to scrape. The embedded server also "
              "knows ERR500, FLAKY, MISSING, SLOW, NOPRICE and BADHTML, which "
              "fail on purpose.");
DEFINE_string(symbols_file, "",
              "A file of symbols (separated by commas, spaces or lines; # "
              "starts a comment), instead of --symbols.");
DEFINE_int32(count, 0,
             "When above 0: scrape this many symbols, the list repeated with "
             "numbered made-up tickers (AAPL, ..., T021, T022, ...).");
DEFINE_string(mode, "threads",
              "sequential, threads (Thread workers) or pool "
              "(ThreadPoolExecutor).");
DEFINE_int32(workers, 10, "Threads fetching at once (threads and pool).");
DEFINE_int32(timeout_ms, 5000, "Time limit of one HTTP attempt.");
DEFINE_int32(retries, 2,
             "Retries (with back-off) of an HTTP 5xx, a timeout or a reset.");
DEFINE_int32(delay_ms, 100,
             "Latency of each page of the embedded quote server.");
DEFINE_bool(compare, true,
            "Also run sequentially first and print the speed-up (when --mode "
            "is not sequential).");
DEFINE_bool(serve, false, "Only run the embedded quote server, until Ctrl-C.");

namespace {

using pyconc::stocks::Quote;

constexpr char kLesson[] =
    "The tutorial's multithreading example, for real: fetch each stock's quote "
    "page\n"
    "over HTTP (libcurl), read price and change with XPath (libxml2's HTML "
    "parser,\n"
    "what Python's lxml uses), first one symbol after another, then on "
    "--workers\n"
    "threads. The work is waiting for servers, so threads overlap it: the "
    "speed-up\n"
    "approaches the number of workers. A failing symbol gets its own row and "
    "the\n"
    "others go on; the exit code is 0 only when every symbol succeeded.";

// The symbols named by --symbols, --symbols_file and --count.
absl::StatusOr<std::vector<std::string>> Symbols() {
  std::string text = FLAGS_symbols;
  if (!FLAGS_symbols_file.empty()) {
    std::ifstream file(FLAGS_symbols_file);
    if (!file) {
      return absl::NotFoundError(
          absl::StrCat("cannot read --symbols_file=", FLAGS_symbols_file, ": ",
                       std::strerror(errno)));
    }
    // A symbols list is small; anything larger (/dev/zero) is refused
    // rather than read until memory runs out.
    constexpr size_t kMaxSymbolsFileBytes = 1 << 20;
    std::string content(kMaxSymbolsFileBytes + 1, '\0');
    file.read(content.data(), static_cast<std::streamsize>(content.size()));
    content.resize(static_cast<size_t>(file.gcount()));
    if (content.size() > kMaxSymbolsFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("--symbols_file=", FLAGS_symbols_file,
                       " is larger than ", kMaxSymbolsFileBytes >> 20, " MiB"));
    }
    text.clear();
    for (absl::string_view line : absl::StrSplit(content, '\n')) {
      absl::StrAppend(&text, line.substr(0, line.find('#')), "\n");
    }
  }
  std::vector<std::string> symbols;
  for (absl::string_view symbol :
       absl::StrSplit(text, absl::ByAnyChar(", \t\r\n"), absl::SkipEmpty())) {
    for (char c : symbol) {
      if (!absl::ascii_isalnum(c) && c != '.' && c != '-' && c != '^' &&
          c != '=' && c != '_') {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", symbol, "\" is not a ticker symbol"));
      }
    }
    symbols.emplace_back(symbol);
  }
  if (symbols.empty()) return absl::InvalidArgumentError("no symbols given");
  const size_t listed = symbols.size();
  for (int i = static_cast<int>(listed); i < FLAGS_count; ++i) {
    symbols.push_back(absl::StrFormat("T%03d", i + 1));
  }
  if (FLAGS_count > 0) symbols.resize(FLAGS_count);
  return symbols;
}

// Starts the embedded quote server; on failure says why on stderr.
std::unique_ptr<pyconc::stocks::QuoteServer> StartServer(
    const pyconc::stocks::QuoteServerOptions& options) {
  absl::StatusOr<std::unique_ptr<pyconc::stocks::QuoteServer>> server =
      pyconc::stocks::QuoteServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "stocks: %s\n",
                 std::string(server.status().message()).c_str());
    return nullptr;
  }
  return *std::move(server);
}

// Runs the quote server until SIGINT or SIGTERM.
int Serve(const pyconc::stocks::QuoteServerOptions& options) {
  // Blocked before the server's threads start, so sigwait() receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::unique_ptr<pyconc::stocks::QuoteServer> server = StartServer(options);
  if (server == nullptr) return 1;
  std::printf("Serving quote pages at %s (%d ms each); Ctrl-C stops.\n",
              server->UrlTemplate().c_str(), FLAGS_delay_ms);
  std::printf("  e.g. curl %s/quote/AAPL\n", server->base_url().c_str());
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server->Stop();
  std::printf("Stopped (%s).\n", strsignal(signal_number));
  return 0;
}

// A progress line on stderr, rewritten after each symbol, for terminals only.
void ShowProgress(const Quote& quote, int done, int total) {
  std::fprintf(stderr, "\r\033[K  fetched %d/%d  (%s %s)", done, total,
               quote.symbol.c_str(), quote.status.ok() ? "ok" : "failed");
  if (done == total) std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

// "+1.23" / "-0.40" / "-".
std::string Change(const Quote& quote) {
  if (!quote.status.ok() || !quote.change.has_value()) return "-";
  return absl::StrFormat("%+.2f", *quote.change);
}

// Prints the table of quotes; returns how many failed.
int PrintTable(const std::vector<Quote>& quotes) {
  size_t width = 6;
  for (const Quote& quote : quotes)
    width = std::max(width, quote.symbol.size());
  const int w = static_cast<int>(width);
  std::printf("  %-*s %12s %9s %12s  %s\n", w, "symbol", "price", "change",
              "fetch time", "status");
  int failed = 0;
  for (const Quote& quote : quotes) {
    std::string status = "ok";
    if (quote.attempts > 1 && quote.status.ok()) {
      status = absl::StrCat("ok after ", quote.attempts, " attempts");
    }
    if (!quote.status.ok()) {
      ++failed;
      status = absl::StrCat("FAILED: ", quote.status.message());
    }
    std::printf(
        "  %-*s %12s %9s %12s  %s\n", w, quote.symbol.c_str(),
        quote.status.ok() ? absl::StrFormat("%.2f", quote.price).c_str() : "-",
        Change(quote).c_str(),
        pyconc::cli::FormatDuration(quote.fetch_time).c_str(), status.c_str());
  }
  return failed;
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  // Ranges a run finishes in seconds within (the sequential mode waits
  // count x delay_ms).
  pyconc::cli::CheckFlagRange("workers", FLAGS_workers, 1, 200);
  pyconc::cli::CheckFlagRange("timeout_ms", FLAGS_timeout_ms, 1, 30000);
  pyconc::cli::CheckFlagRange("retries", FLAGS_retries, 0, 5);
  pyconc::cli::CheckFlagRange("delay_ms", FLAGS_delay_ms, 0, 1000);
  pyconc::cli::CheckFlagRange("count", FLAGS_count, 0, 500);
  pyconc::stocks::QuoteServerOptions server_options{
      .delay = absl::Milliseconds(FLAGS_delay_ms)};
  if (FLAGS_serve) return Serve(server_options);

  absl::StatusOr<pyconc::stocks::Mode> mode =
      pyconc::stocks::ParseMode(FLAGS_mode);
  if (!mode.ok()) pyconc::cli::Fail(mode.status().message());
  absl::StatusOr<std::vector<std::string>> symbols = Symbols();
  if (!symbols.ok()) pyconc::cli::Fail(symbols.status().message());

  pyconc::stocks::ScrapeOptions options{
      .url_template = FLAGS_url_template,
      .price_xpath = FLAGS_xpath,
      .change_xpath = FLAGS_change_xpath,
      .mode = *mode,
      .workers = FLAGS_workers,
      .fetch = {.timeout = absl::Milliseconds(FLAGS_timeout_ms),
                .max_retries = FLAGS_retries}};
  if (isatty(STDERR_FILENO)) options.on_done = &ShowProgress;

  // Checked before the server starts, so that bad flags fail at once.
  if (!options.url_template.empty()) {
    if (absl::Status status = pyconc::stocks::CheckOptions(options);
        !status.ok()) {
      pyconc::cli::Fail(status.message());
    }
  }
  std::unique_ptr<pyconc::stocks::QuoteServer> server;
  std::string source = options.url_template;
  if (options.url_template.empty()) {
    server = StartServer(server_options);
    if (server == nullptr) return 1;
    options.url_template = server->UrlTemplate();
    source = absl::StrFormat("%s  (embedded quote server, %d ms per page)",
                             options.url_template, FLAGS_delay_ms);
  }
  if (absl::Status status = pyconc::stocks::CheckOptions(options);
      !status.ok()) {
    pyconc::cli::Fail(status.message());
  }

  std::printf("Scraping %zu symbols from %s\n", symbols->size(),
              source.c_str());
  absl::Duration sequential_time;
  const bool compare =
      FLAGS_compare && *mode != pyconc::stocks::Mode::kSequential;
  if (compare) {
    pyconc::stocks::ScrapeOptions sequential = options;
    sequential.mode = pyconc::stocks::Mode::kSequential;
    std::printf("  sequential run ...\n");
    std::fflush(stdout);
    sequential_time = pyconc::cli::Measure(
        [&] { (void)pyconc::stocks::Scrape(*symbols, sequential); });
  }
  absl::StatusOr<std::vector<Quote>> quotes;
  const absl::Duration time = pyconc::cli::Measure(
      [&] { quotes = pyconc::stocks::Scrape(*symbols, options); });
  if (!quotes.ok()) pyconc::cli::Fail(quotes.status().message());

  const int threads =
      *mode == pyconc::stocks::Mode::kSequential
          ? 1
          : std::min<int>(FLAGS_workers, static_cast<int>(symbols->size()));
  std::printf("\n%s, %d thread%s:\n", std::string(ModeName(*mode)).c_str(),
              threads, threads == 1 ? "" : "s");
  const int failed = PrintTable(*quotes);
  std::printf("\n  %zu symbols: %zu ok, %d failed\n", quotes->size(),
              quotes->size() - failed, failed);
  if (compare) {
    std::printf("  %-12s %12s   one symbol after another\n", "sequential",
                pyconc::cli::FormatDuration(sequential_time).c_str());
  }
  std::printf("  %-12s %12s   %d thread%s\n",
              std::string(ModeName(*mode)).c_str(),
              pyconc::cli::FormatDuration(time).c_str(), threads,
              threads == 1 ? "" : "s");
  if (compare) {
    std::printf(
        "  %-12s %10.2f x   (ideal about %d x: the threads wait on the "
        "server together)\n",
        "speed-up", absl::FDivDuration(sequential_time, time), threads);
  }
  // Waiting on the server needs no core, so the threads overlap their waits on
  // any machine; a speed-up of a third of the ideal shows it.
  const double speed_up =
      compare ? absl::FDivDuration(sequential_time, time) : 0;
  pyconc::cli::Claim(
      "Downloading pages is I/O-bound: threads wait on the network together, "
      "so scraping with threads is several times faster than one page after "
      "another.",
      compare ? absl::StrFormat("%.2fx with %d threads for %zu pages.",
                                speed_up, threads, symbols->size())
              : "no sequential run to compare with.",
      compare && failed == 0 && threads > 1 &&
          speed_up >= std::max(1.5, 0.3 * threads),
      !compare       ? "nothing to compare: drop --nocompare and use threads"
      : failed > 0   ? "a page failed"
      : threads == 1 ? "one thread waits for one page at a time; use "
                       "--workers=2 or more"
                     : "the pages cost too little waiting to overlap; raise "
                       "--delay_ms");
  return failed == 0 ? 0 : 1;
}
