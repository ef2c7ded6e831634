// The multithreaded stock-price scraper: fetch each symbol's quote page over
// HTTP, read the price and change with XPath, and do it for many symbols at
// once, because a scraper spends its time waiting for servers.
//
//   Scrape(symbols, {.url_template = "https://example.com/quote/{symbol}",
//                    .mode = Mode::kThreads, .workers = 10});
//
// Modes, as the tutorial compares them:
//   kSequential  one symbol after another, in the calling thread;
//   kThreads     `workers` pyconc::threading::Threads (at most one per symbol),
//                each taking the next symbol from a shared list until none
//                is left;
//   kPool        one task per symbol submitted to a
//                futures::ThreadPoolExecutor of `workers` threads, progress
//                reported as the Futures complete (Python's as_completed).
//
// Failures are values: each symbol gets a Quote whose `status` says what went
// wrong (HTTP error after retries, timeout, unknown host, page without the
// price, malformed HTML); one failing symbol never stops the others, and no
// exception crosses a thread. Scrape() returns only after every thread it
// started has ended, timeouts included.
//
// Thread-safety: Scrape() may be called from several threads at once. It calls
// InitHttp() and InitHtml() before starting threads; a program that uses
// libcurl or libxml2 elsewhere should call both from main first. Each worker
// thread owns its own libcurl handle.

#ifndef PYCONC_THREADING_STOCKS_SCRAPER_H_
#define PYCONC_THREADING_STOCKS_SCRAPER_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "threading/stocks/fetch.h"
#include "threading/stocks/server.h"

namespace pyconc::stocks {

// How the symbols are spread over threads. See the top of this file.
enum class Mode { kSequential, kThreads, kPool };

// "sequential", "threads", "pool".
absl::string_view ModeName(Mode mode);
// The Mode named `name`, or InvalidArgument.
absl::StatusOr<Mode> ParseMode(absl::string_view name);

// One symbol's outcome.
struct Quote {
  std::string symbol;
  // OK, or why there is no price (the fields below are then unset).
  absl::Status status;
  double price = 0;
  std::optional<double> change;
  // From the first request to the parsed quote (or the failure).
  absl::Duration fetch_time;
  // HTTP attempts made (more than 1 after retries).
  int attempts = 0;
};

// What to scrape and how.
struct ScrapeOptions {
  // The page of a symbol; "{symbol}" is replaced by the (URL-escaped) symbol.
  std::string url_template;
  // Where the price is; where the change is (empty: no change column).
  std::string price_xpath = kPriceXPath;
  std::string change_xpath = kChangeXPath;
  Mode mode = Mode::kThreads;
  // Threads for kThreads and kPool.
  int workers = 10;
  FetchOptions fetch;
  // Called after each symbol, with how many are done. Calls are serialized
  // (never two at once); they come from the worker threads (kThreads), the
  // calling thread (kSequential, and kPool as the Futures complete). May be
  // empty.
  std::function<void(const Quote& quote, int done, int total)> on_done;
};

// OK when `options` can be used: a template with {symbol} that makes http(s)
// URLs, XPaths that compile, workers in [1, 1000].
absl::Status CheckOptions(const ScrapeOptions& options);

// `url_template` with "{symbol}" replaced by the URL-escaped `symbol`.
std::string QuoteUrl(absl::string_view url_template, absl::string_view symbol);

// Scrapes every symbol; the quotes come back in the order of `symbols`. Fails
// (without scraping) only when CheckOptions fails or no thread can be started.
absl::StatusOr<std::vector<Quote>> Scrape(
    const std::vector<std::string>& symbols, const ScrapeOptions& options);

// Scrapes one symbol with `fetcher` (which belongs to the calling thread).
Quote ScrapeOne(Fetcher& fetcher, absl::string_view symbol,
                const ScrapeOptions& options);

}  // namespace pyconc::stocks

#endif  // PYCONC_THREADING_STOCKS_SCRAPER_H_
