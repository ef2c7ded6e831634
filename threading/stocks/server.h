// QuoteServer: a small stock-quote website on 127.0.0.1, so that the scraper
// runs (and is tested) on any machine, without the internet.
//
// It serves a realistic quote page for any symbol at /quote/SYMBOL (the price
// and change are derived from the symbol, so a test knows what to expect; see
// ExpectedQuote), after a configurable delay that stands for a remote server's
// latency. /q/SYMBOL redirects there. A few symbols misbehave on purpose, one
// per failure a scraper must survive:
//
//   ERR500   always answers HTTP 500 (retried, then reported)
//   FLAKY    answers HTTP 503 to its first request, then the page (a retry
//            cures it)
//   MISSING  answers HTTP 404 (not retried)
//   SLOW     answers only after `slow_delay` (a client timeout)
//   NOPRICE  a well-formed page without the price
//   BADHTML  a page with broken markup, price unreadable
//
// It counts requests per symbol and those in flight, keeping the maximum
// observed, so a test can check that a scraper's requests really overlap. It
// is built on cpp-httplib, with one server thread per concurrent connection up
// to `threads`.
//
// Thread-safety: all member functions are thread-safe. Stop() (also run by the
// destructor) releases delayed requests at once and returns after every
// server thread has ended.

#ifndef PYCONC_THREADING_STOCKS_SERVER_H_
#define PYCONC_THREADING_STOCKS_SERVER_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "threading/stocks/parse.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace pyconc::threading {
class Thread;
}  // namespace pyconc::threading

namespace pyconc::stocks {

// The XPaths that find the price and the change on QuoteServer's pages.
inline constexpr char kPriceXPath[] =
    "//section[@id='quote']//span[@data-field='price']";
inline constexpr char kChangeXPath[] =
    "//section[@id='quote']//span[@data-field='change']";

// How the server behaves.
struct QuoteServerOptions {
  // How long every quote page takes to answer (a remote server's latency).
  absl::Duration delay = absl::Milliseconds(100);
  // How long SLOW takes to answer.
  absl::Duration slow_delay = absl::Seconds(30);
  // Requests served at once (one thread each); more wait in line.
  int threads = 64;
  // When above 1, quote requests are held until this many are in flight at
  // once (or `gather_timeout` passes), once; a test uses it to prove that a
  // scraper overlaps that many requests, without relying on timing.
  int gather = 0;
  absl::Duration gather_timeout = absl::Seconds(10);
};

// The price and change QuoteServer's page for `symbol` shows.
QuoteFields ExpectedQuote(absl::string_view symbol);

// The quote page for `symbol` (what /quote/SYMBOL answers for a well-behaved
// symbol).
std::string QuotePage(absl::string_view symbol);

// The quote website. See the top of this file.
class QuoteServer {
 public:
  // Starts a server on 127.0.0.1 on a port the OS picks. Before returning it
  // fetches its own index page once (see FirstOnListenerQueue in server.cc),
  // so a server that cannot answer is an error here, not in a test.
  static absl::StatusOr<std::unique_ptr<QuoteServer>> Start(
      QuoteServerOptions options = {});

  QuoteServer(const QuoteServer&) = delete;
  QuoteServer& operator=(const QuoteServer&) = delete;
  ~QuoteServer();

  // Stops serving; idempotent. In-flight delayed requests answer at once.
  void Stop();

  // The port it listens on.
  int port() const { return port_; }
  // "http://127.0.0.1:PORT".
  std::string base_url() const;
  // "http://127.0.0.1:PORT/quote/{symbol}", for the scraper.
  std::string UrlTemplate() const;

  // How many requests for `symbol` arrived (redirects not counted).
  int Requests(absl::string_view symbol) const;
  // The most quote requests that were in flight at the same moment.
  int MaxInFlight() const;
  // Quote requests in flight now.
  int InFlight() const;

 private:
  explicit QuoteServer(QuoteServerOptions options);

  // Answers /quote/SYMBOL: status code, body and content type.
  struct Answer {
    int status = 200;
    std::string body;
  };
  Answer Serve(const std::string& symbol);
  // Counts a request in (and the maximum), out.
  void Enter(const std::string& symbol);
  void Leave();
  // Holds a request until `options_.gather` are in flight, once.
  void Gather();
  bool Gathered() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const QuoteServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<threading::Thread> listener_;
  int port_ = 0;
  // Notified by Stop(); delayed requests wait on it.
  absl::Notification stopping_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> requests_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int max_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool gate_open_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pyconc::stocks

#endif  // PYCONC_THREADING_STOCKS_SERVER_H_
