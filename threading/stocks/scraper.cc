#include "threading/stocks/scraper.h"

#include <algorithm>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "threading/pool/executor.h"
#include "threading/pool/future.h"
#include "threading/pool/wait.h"
#include "threading/stocks/fetch.h"
#include "threading/stocks/parse.h"
#include "threading/thread/thread.h"

namespace pyconc::stocks {
namespace {

constexpr absl::string_view kPlaceholder = "{symbol}";

// The symbols still to scrape, shared by the worker threads, and the
// serialized progress callback.
class WorkList {
 public:
  WorkList(size_t total, const ScrapeOptions& options)
      : total_(total), options_(options) {}

  // The index of the next symbol to scrape, or nullopt when none is left.
  std::optional<size_t> Take() {
    absl::MutexLock lock(&mu_);
    if (next_ == total_) return std::nullopt;
    return next_++;
  }

  // Reports a finished symbol to the progress callback, one call at a time.
  void Done(const Quote& quote) {
    absl::MutexLock lock(&mu_);
    ++done_;
    if (options_.on_done) {
      options_.on_done(quote, done_, static_cast<int>(total_));
    }
  }

 private:
  const size_t total_;
  const ScrapeOptions& options_;
  absl::Mutex mu_;
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
  int done_ ABSL_GUARDED_BY(mu_) = 0;
};

// What one worker does: take symbols until none is left. Each worker has its
// own Fetcher (libcurl handle) and writes only the quotes it took.
void Work(const std::vector<std::string>& symbols, const ScrapeOptions& options,
          WorkList& work, std::vector<Quote>& quotes) {
  Fetcher fetcher(options.fetch);
  while (std::optional<size_t> i = work.Take()) {
    quotes[*i] = ScrapeOne(fetcher, symbols[*i], options);
    work.Done(quotes[*i]);
  }
}

// kThreads: up to `workers` threads share the list; returns once all ended.
absl::Status ScrapeWithThreads(const std::vector<std::string>& symbols,
                               const ScrapeOptions& options, WorkList& work,
                               std::vector<Quote>& quotes) {
  const size_t count =
      std::min(symbols.size(), static_cast<size_t>(options.workers));
  std::deque<threading::Thread> threads;
  for (size_t i = 0; i < count; ++i) {
    threads.emplace_back(
        threading::ThreadOptions{.name = absl::StrCat("scraper-", i + 1)},
        [&] { Work(symbols, options, work, quotes); });
    if (absl::Status status = threads.back().Start(); !status.ok()) {
      threads.pop_back();
      // The threads already running take the whole list between them.
      if (threads.empty()) return status;
      break;
    }
  }
  for (threading::Thread& thread : threads) thread.Join();
  return absl::OkStatus();
}

// Fetchers lent to pool tasks: a task borrows one for a symbol and gives it
// back, so each of the pool's threads reuses a libcurl handle (and its
// connection) without the pool knowing about it. At most one per task running
// at once is ever made.
class FetcherShelf {
 public:
  explicit FetcherShelf(const FetchOptions& options) : options_(options) {}

  // A Fetcher no other thread is using.
  std::unique_ptr<Fetcher> Borrow() {
    {
      absl::MutexLock lock(&mu_);
      if (!idle_.empty()) {
        std::unique_ptr<Fetcher> fetcher = std::move(idle_.back());
        idle_.pop_back();
        return fetcher;
      }
    }
    return std::make_unique<Fetcher>(options_);
  }

  // Takes back a Fetcher from Borrow().
  void Return(std::unique_ptr<Fetcher> fetcher) {
    absl::MutexLock lock(&mu_);
    idle_.push_back(std::move(fetcher));
  }

 private:
  const FetchOptions options_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Fetcher>> idle_ ABSL_GUARDED_BY(mu_);
};

// kPool: one task per symbol on a ThreadPoolExecutor of `workers` threads;
// progress is reported as the Futures complete (Python's as_completed).
absl::Status ScrapeWithPool(const std::vector<std::string>& symbols,
                            const ScrapeOptions& options, WorkList& work,
                            std::vector<Quote>& quotes) {
  FetcherShelf shelf(options.fetch);
  // Declared after the shelf: destroyed (shut down, workers joined) first.
  futures::ThreadPoolExecutor pool(
      {.max_workers = options.workers, .thread_name_prefix = "scraper"});
  std::vector<futures::Future<Quote>> submitted;
  for (const std::string& symbol : symbols) {
    absl::StatusOr<futures::Future<Quote>> future =
        pool.Submit([&shelf, &options, symbol] {
          std::unique_ptr<Fetcher> fetcher = shelf.Borrow();
          Quote quote = ScrapeOne(*fetcher, symbol, options);
          shelf.Return(std::move(fetcher));
          return quote;
        });
    if (!future.ok()) return future.status();
    submitted.push_back(*std::move(future));
  }
  for (absl::StatusOr<futures::Future<Quote>> done :
       futures::AsCompleted(submitted)) {
    if (done.ok()) work.Done(done->Result());
  }
  for (size_t i = 0; i < submitted.size(); ++i) {
    quotes[i] = submitted[i].Result();
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view ModeName(Mode mode) {
  switch (mode) {
    case Mode::kSequential:
      return "sequential";
    case Mode::kThreads:
      return "threads";
    case Mode::kPool:
      return "pool";
  }
  return "?";
}

absl::StatusOr<Mode> ParseMode(absl::string_view name) {
  for (Mode mode : {Mode::kSequential, Mode::kThreads, Mode::kPool}) {
    if (name == ModeName(mode)) return mode;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--mode must be sequential, threads or pool, not \"", name, "\""));
}

std::string QuoteUrl(absl::string_view url_template, absl::string_view symbol) {
  return absl::StrReplaceAll(url_template, {{kPlaceholder, UrlEscape(symbol)}});
}

absl::Status CheckOptions(const ScrapeOptions& options) {
  if (!absl::StrContains(options.url_template, kPlaceholder)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the URL template \"", options.url_template, "\" has no {symbol}"));
  }
  absl::StatusOr<std::string> host =
      UrlHost(QuoteUrl(options.url_template, "SYMBOL"));
  if (!host.ok()) return host.status();
  if (absl::Status price = CheckXPath(options.price_xpath); !price.ok()) {
    return price;
  }
  if (!options.change_xpath.empty()) {
    if (absl::Status change = CheckXPath(options.change_xpath); !change.ok()) {
      return change;
    }
  }
  if (options.workers < 1 || options.workers > 1000) {
    return absl::InvalidArgumentError("workers must be in [1, 1000]");
  }
  return absl::OkStatus();
}

Quote ScrapeOne(Fetcher& fetcher, absl::string_view symbol,
                const ScrapeOptions& options) {
  Quote quote;
  quote.symbol = std::string(symbol);
  const absl::Time start = absl::Now();
  absl::StatusOr<Page> page =
      fetcher.Get(QuoteUrl(options.url_template, symbol), &quote.attempts);
  if (!page.ok()) {
    quote.status = page.status();
  } else {
    absl::StatusOr<QuoteFields> fields =
        ParseQuote(page->body, options.price_xpath, options.change_xpath);
    if (!fields.ok()) {
      quote.status = fields.status();
    } else {
      quote.price = fields->price;
      quote.change = fields->change;
    }
  }
  quote.fetch_time = absl::Now() - start;
  return quote;
}

absl::StatusOr<std::vector<Quote>> Scrape(
    const std::vector<std::string>& symbols, const ScrapeOptions& options) {
  if (absl::Status status = CheckOptions(options); !status.ok()) return status;
  // Both libraries' process-wide set-up, before any thread uses them.
  InitHttp();
  InitHtml();
  std::vector<Quote> quotes(symbols.size());
  WorkList work(symbols.size(), options);
  switch (options.mode) {
    case Mode::kSequential:
      Work(symbols, options, work, quotes);
      break;
    case Mode::kPool:
      if (absl::Status status = ScrapeWithPool(symbols, options, work, quotes);
          !status.ok()) {
        return status;
      }
      break;
    case Mode::kThreads:
      if (absl::Status status =
              ScrapeWithThreads(symbols, options, work, quotes);
          !status.ok()) {
        return status;
      }
      break;
  }
  return quotes;
}

}  // namespace pyconc::stocks
