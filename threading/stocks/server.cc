#include "threading/stocks/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "threading/stocks/fetch.h"
#include "threading/thread/thread.h"

namespace pyconc::stocks {
namespace {

// FNV-1a: a stable hash, so a symbol's price is the same in every run.
uint64_t StableHash(absl::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(absl::ascii_toupper(c));
    hash *= 1099511628211ull;
  }
  return hash;
}

// Whole cents of the price and of the change.
int64_t PriceCents(absl::string_view symbol) {
  return 1000 + static_cast<int64_t>(StableHash(symbol) % 99000);
}
int64_t ChangeCents(absl::string_view symbol) {
  return static_cast<int64_t>((StableHash(symbol) >> 24) % 1001) - 500;
}

// "$1,234.56", as quote sites write prices.
std::string Money(int64_t cents) {
  const int64_t dollars = cents / 100;
  std::string whole = absl::StrCat(dollars % 1000);
  if (dollars >= 1000) {
    whole = absl::StrFormat("%d,%03d", dollars / 1000, dollars % 1000);
  }
  return absl::StrFormat("$%s.%02d", whole, cents % 100);
}

// The page head and site chrome around a quote section.
std::string Site(absl::string_view symbol, absl::string_view section) {
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>",
      symbol, " stock price and quote</title>\n",
      "<link rel=\"stylesheet\" href=\"/static/site.css\">\n"
      "<script>window.dataLayer = window.dataLayer || [];</script>\n"
      "</head>\n<body>\n"
      "<nav><a href=\"/\">Markets</a> | <a href=\"/news\">News</a></nav>\n"
      "<main>\n",
      section,
      "<aside><h2>People also watch</h2><ul><li>AAPL</li><li>MSFT</li>"
      "</ul></aside>\n</main>\n<footer>Quotes delayed; for learning only."
      "</footer>\n</body>\n</html>\n");
}

// The quote section; without the price element when `with_price` is false.
std::string QuoteSection(absl::string_view symbol, bool with_price) {
  const int64_t price = PriceCents(symbol);
  const int64_t change = ChangeCents(symbol);
  const double percent =
      100.0 * static_cast<double>(change) / static_cast<double>(price - change);
  const std::string sign = change < 0 ? "\xE2\x88\x92" : "+";  // U+2212.
  const std::string price_html =
      with_price ? absl::StrCat("<span class=\"value\" data-field=\"price\">",
                                Money(price), "</span>\n")
                 : "<span class=\"value\">Quote unavailable</span>\n";
  return absl::StrCat(
      "<section id=\"quote\" data-symbol=\"", symbol, "\">\n<h1>", symbol,
      " Inc. (", symbol, ")</h1>\n<div class=\"price\">\n", price_html,
      "<span class=\"", change < 0 ? "down" : "up", "\" data-field=\"change\">",
      sign, Money(change < 0 ? -change : change).substr(1),
      absl::StrFormat(" (%s%.2f%%)", sign, percent < 0 ? -percent : percent),
      "</span>\n</div>\n<table class=\"stats\">\n<tr><th>Open</th><td>",
      Money(price - change), "</td></tr>\n<tr><th>Volume</th><td>",
      StableHash(symbol) % 90000000 + 100000,
      "</td></tr>\n</table>\n</section>\n");
}

// Broken markup: the price's tag is mangled and never closed properly.
std::string BrokenPage(absl::string_view symbol) {
  return absl::StrCat("<!DOCTYPE html>\n<html><head><title>", symbol,
                      "</title></head><body>\n<section id=\"quote\"><span "
                      "data-field==\"price'>",
                      Money(PriceCents(symbol)),
                      "</span <<<<div>\n</bodyy></ht");
}

// httplib's task queue, except that the first connection is served on the
// listener thread itself. Why: Debian's libcpp-httplib (not instrumented)
// builds function-local statics on first use, e.g. the set of known methods in
// Server::parse_request_line; later readers skip the static's guard with a
// plain acquire load that ThreadSanitizer cannot see, so a worker reading the
// set another worker built is reported as a race. Start() sends one request,
// which builds the statics here, on the listener; every later connection is
// enqueued by the listener afterwards, so the pool's mutex orders the build
// before any worker's use, as ThreadSanitizer can see.
class FirstOnListenerQueue : public httplib::TaskQueue {
 public:
  explicit FirstOnListenerQueue(int threads) : pool_(threads) {}

  void enqueue(std::function<void()> fn) override {
    if (first_) {
      first_ = false;
      fn();
      return;
    }
    pool_.enqueue(std::move(fn));
  }

  void shutdown() override { pool_.shutdown(); }

 private:
  bool first_ = true;  // Only the listener thread calls enqueue().
  httplib::ThreadPool pool_;
};

}  // namespace

QuoteFields ExpectedQuote(absl::string_view symbol) {
  return QuoteFields{.price = static_cast<double>(PriceCents(symbol)) / 100,
                     .change = static_cast<double>(ChangeCents(symbol)) / 100};
}

std::string QuotePage(absl::string_view symbol) {
  return Site(symbol, QuoteSection(symbol, /*with_price=*/true));
}

absl::StatusOr<std::unique_ptr<QuoteServer>> QuoteServer::Start(
    QuoteServerOptions options) {
  if (options.threads < 1) {
    return absl::InvalidArgumentError("QuoteServer needs at least 1 thread");
  }
  std::unique_ptr<QuoteServer> server(new QuoteServer(options));
  httplib::Server& http = *server->http_;
  const int threads = options.threads;
  http.new_task_queue = [threads] { return new FirstOnListenerQueue(threads); };
  // Idle keep-alive connections hold a server thread; let them go soon.
  http.set_keep_alive_timeout(1);
  // httplib writes the head and the body separately; with Nagle's algorithm
  // the body would wait for the client's delayed ACK (40 ms) on every request
  // of a kept-alive connection.
  http.set_tcp_nodelay(true);
  QuoteServer* self = server.get();
  http.Get(R"(/quote/([^/]+))", [self](const httplib::Request& request,
                                       httplib::Response& response) {
    const Answer answer = self->Serve(request.matches[1].str());
    response.status = answer.status;
    response.set_content(answer.body, "text/html; charset=utf-8");
  });
  http.Get(R"(/q/([^/]+))",
           [](const httplib::Request& request, httplib::Response& response) {
             response.set_redirect(
                 absl::StrCat("/quote/", request.matches[1].str()), 301);
           });
  http.Get("/", [](const httplib::Request&, httplib::Response& response) {
    response.set_content(
        "<!DOCTYPE html><html><body><h1>pyconc quote server</h1>"
        "<p>GET /quote/SYMBOL (ERR500, FLAKY, MISSING, SLOW, NOPRICE and "
        "BADHTML misbehave on purpose)</p></body></html>\n",
        "text/html; charset=utf-8");
  });
  // Debian's httplib is compiled with a listen backlog of 5: a burst of
  // connections from more workers overflows it, and the kernel drops SYNs that
  // the clients resend only after a second. Keep the socket to enlarge it.
  int listening = -1;
  http.set_socket_options([&listening](int socket) {
    const int on = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    listening = socket;
  });
  server->port_ = http.bind_to_any_port("127.0.0.1");
  if (server->port_ <= 0) {
    return absl::UnavailableError("cannot listen on 127.0.0.1");
  }
  // On Linux, listen() on a listening socket sets its backlog anew.
  ::listen(listening, SOMAXCONN);
  server->listener_ = std::make_unique<threading::Thread>(
      threading::ThreadOptions{.name = "quote-server", .daemon = true},
      [self] { self->http_->listen_after_bind(); });
  server->listener_->Start();
  // The first request, served on the listener (see FirstOnListenerQueue).
  {
    Fetcher first({.timeout = absl::Seconds(10), .max_retries = 0});
    absl::StatusOr<Page> index = first.Get(server->base_url() + "/");
    if (!index.ok()) {
      server->Stop();
      return absl::UnavailableError(absl::StrCat(
          "the quote server does not answer: ", index.status().message()));
    }
  }  // Closes the connection, so the listener goes back to accepting.
  return server;
}

QuoteServer::QuoteServer(QuoteServerOptions options)
    : options_(options), http_(std::make_unique<httplib::Server>()) {}

QuoteServer::~QuoteServer() { Stop(); }

void QuoteServer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  stopping_.Notify();
  if (listener_ == nullptr) return;
  // httplib's stop() does nothing until listen has begun, so a Stop() right
  // after Start() asks again until the listener has ended.
  do {
    http_->stop();
  } while (!listener_->Join(absl::Milliseconds(20)));
}

std::string QuoteServer::base_url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

std::string QuoteServer::UrlTemplate() const {
  return absl::StrCat(base_url(), "/quote/{symbol}");
}

int QuoteServer::Requests(absl::string_view symbol) const {
  absl::MutexLock lock(&mu_);
  const auto it = requests_.find(absl::AsciiStrToUpper(symbol));
  return it == requests_.end() ? 0 : it->second;
}

int QuoteServer::MaxInFlight() const {
  absl::MutexLock lock(&mu_);
  return max_in_flight_;
}

int QuoteServer::InFlight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

void QuoteServer::Enter(const std::string& symbol) {
  absl::MutexLock lock(&mu_);
  ++requests_[symbol];
  ++in_flight_;
  if (in_flight_ > max_in_flight_) max_in_flight_ = in_flight_;
}

void QuoteServer::Leave() {
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

bool QuoteServer::Gathered() const {
  return gate_open_ || in_flight_ >= options_.gather;
}

void QuoteServer::Gather() {
  if (options_.gather <= 1) return;
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(this, &QuoteServer::Gathered),
                       options_.gather_timeout);
  gate_open_ = true;
}

QuoteServer::Answer QuoteServer::Serve(const std::string& raw_symbol) {
  const std::string symbol = absl::AsciiStrToUpper(raw_symbol);
  Enter(symbol);
  Gather();
  Answer answer;
  if (symbol == "ERR500") {
    answer = {500, "<html><body>Internal Server Error</body></html>"};
  } else if (symbol == "FLAKY" && Requests(symbol) == 1) {
    answer = {503, "<html><body>Service Unavailable</body></html>"};
  } else if (symbol == "MISSING") {
    answer = {404, "<html><body>No such symbol</body></html>"};
  } else {
    // The server's latency: workload, cut short when the server stops.
    stopping_.WaitForNotificationWithTimeout(
        symbol == "SLOW" ? options_.slow_delay : options_.delay);
    if (symbol == "NOPRICE") {
      answer.body = Site(symbol, QuoteSection(symbol, /*with_price=*/false));
    } else if (symbol == "BADHTML") {
      answer.body = BrokenPage(symbol);
    } else {
      answer.body = QuotePage(symbol);
    }
  }
  Leave();
  return answer;
}

}  // namespace pyconc::stocks
