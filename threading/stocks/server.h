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
// observed, so a test can check that a scraper's requests really overlap.
//
// Hostile clients cannot starve it. One reader thread collects requests from
// every connection with poll(); only a complete request reaches one of the
// `threads` workers that answer. A connection has `request_timeout` to send a
// whole request (from its accept, or from the previous answer on a kept-alive
// connection) and is closed when it has not; a request head is at most 8 KiB
// (else HTTP 431) and a body at most `max_body_bytes` (else HTTP 413, and
// nothing is read); at most `max_connections` are open, and a new one past
// that closes the oldest still sending its request. So slowloris clients
// (a byte at a time), idle connections and huge uploads cost a bounded amount
// each, for a bounded time, and a normal GET is answered meanwhile.
//
// Thread-safety: all member functions are thread-safe. Stop() (also run by the
// destructor) releases delayed requests at once and returns after every
// server thread has ended.

#ifndef PYCONC_THREADING_STOCKS_SERVER_H_
#define PYCONC_THREADING_STOCKS_SERVER_H_

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "threading/stocks/parse.h"
#include "threading/thread/thread.h"

namespace pyconc::stocks {
namespace internal {
struct HttpConnection;  // A client's socket and the bytes it sent; server.cc.
struct HttpRequest;     // A parsed request; server.cc.
}  // namespace internal

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
  // Requests served at once (one worker thread each); more wait in line.
  int threads = 64;
  // Connections open at once; a new one past this closes the oldest that is
  // still sending its request.
  int max_connections = 256;
  // How long a connection may take to send one whole request.
  absl::Duration request_timeout = absl::Seconds(2);
  // The largest request body read (every route is a GET; a body is ignored).
  int max_body_bytes = 64 << 10;
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
  // Starts a server on 127.0.0.1 on a port the OS picks; it answers as soon as
  // this returns.
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
  using Connection = internal::HttpConnection;
  using Request = internal::HttpRequest;

  QuoteServer(QuoteServerOptions options, int listener, int wake);

  // Answers a request: status code, body and redirect target.
  struct Answer {
    int status = 200;
    std::string body;
    std::string location;
  };
  Answer Route(const Request& request);
  // Answers /quote/SYMBOL.
  Answer Serve(const std::string& symbol);
  // Counts a request in (and the maximum), out.
  void Enter(const std::string& symbol);
  void Leave();
  // Holds a request until `options_.gather` are in flight, once.
  void Gather();
  bool Gathered() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The reader thread: accepts connections and reads requests (see the top of
  // this file), handing complete ones to the workers.
  void Read();
  // Accepts what the listener has, within `max_connections`.
  void Accept(std::vector<std::unique_ptr<Connection>>& reading);
  // Parses what `connection` sent: a complete request goes to the workers, a
  // refused one is answered and closed. Returns the connection while it has
  // not sent a complete request yet.
  std::unique_ptr<Connection> Advance(std::unique_ptr<Connection> connection);
  // A worker thread: answers queued requests until Stop().
  void Work();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Closes a connection's socket and counts it out.
  void Close(std::unique_ptr<Connection> connection);
  // Wakes the reader's poll().
  void Wake();

  const QuoteServerOptions options_;
  const int listener_;  // The listening socket.
  const int wake_;      // An eventfd that wakes the reader.
  int port_ = 0;
  std::unique_ptr<threading::Thread> reader_;
  std::vector<std::unique_ptr<threading::Thread>> workers_;
  // Notified by Stop(); delayed requests wait on it.
  absl::Notification stopping_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> requests_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int max_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool gate_open_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  // Complete requests waiting for a worker.
  std::deque<std::pair<std::unique_ptr<Connection>, std::unique_ptr<Request>>>
      queue_ ABSL_GUARDED_BY(mu_);
  // Kept-alive connections the workers hand back to the reader.
  std::vector<std::unique_ptr<Connection>> returned_ ABSL_GUARDED_BY(mu_);
  // Connections open, in every state.
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pyconc::stocks

#endif  // PYCONC_THREADING_STOCKS_SERVER_H_
