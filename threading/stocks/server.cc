#include "threading/stocks/server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
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
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/errors.h"
#include "threading/thread/thread.h"

namespace pyconc::stocks {

namespace internal {

struct HttpConnection {
  int fd = -1;
  // What the client sent and no answer has consumed yet.
  std::string received;
  // When it must have sent a whole request.
  absl::Time deadline;
};

struct HttpRequest {
  std::string method;
  std::string path;  // Percent-decoded, without the query.
  bool keep_alive = false;
  size_t size = 0;  // Bytes of `received` the request takes, body included.
};

}  // namespace internal

namespace {

// A request head (request line and headers) larger than this is refused.
constexpr size_t kMaxHeadBytes = 8 << 10;
// How long an answer may take to be written.
constexpr absl::Duration kWriteTimeout = absl::Seconds(5);

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

absl::string_view Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 301:
      return "Moved Permanently";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

// The bytes of an HTTP/1.1 answer.
std::string Response(int status, absl::string_view body,
                     absl::string_view location, bool keep_alive) {
  return absl::StrCat(
      "HTTP/1.1 ", status, " ", Reason(status),
      "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ",
      body.size(), "\r\nConnection: ", keep_alive ? "keep-alive" : "close",
      location.empty() ? "" : "\r\nLocation: ", location, "\r\n\r\n", body);
}

// Writes all of `bytes` to the non-blocking socket `fd` before `deadline`.
bool WriteAll(int fd, absl::string_view bytes, absl::Time deadline) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return false;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    pollfd writable = {.fd = fd, .events = POLLOUT, .revents = 0};
    poll(&writable, 1,
         static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(
             std::min(left, absl::Seconds(1)), absl::Milliseconds(1)))));
  }
  return true;
}

// The value of a hexadecimal digit.
int HexValue(char digit) {
  return absl::ascii_isdigit(digit) ? digit - '0'
                                    : absl::ascii_tolower(digit) - 'a' + 10;
}

// "%41%20B" -> "A B"; a malformed escape stays as it is.
std::string PercentDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        absl::ascii_isxdigit(text[i + 1]) &&
        absl::ascii_isxdigit(text[i + 2])) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 +
                                      HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// What ParseRequest made of the bytes a client sent so far.
enum class Progress { kIncomplete, kComplete, kRefused };

// Parses the request at the start of `received`. kRefused sets `refusal` to
// the HTTP status that answers it.
Progress ParseRequest(absl::string_view received, size_t max_body,
                      internal::HttpRequest* request, int* refusal) {
  const size_t head_end = received.find("\r\n\r\n");
  if (head_end == absl::string_view::npos || head_end + 4 > kMaxHeadBytes) {
    if (received.size() < kMaxHeadBytes) return Progress::kIncomplete;
    *refusal = 431;
    return Progress::kRefused;
  }
  const std::vector<absl::string_view> lines =
      absl::StrSplit(received.substr(0, head_end), "\r\n");
  const std::vector<absl::string_view> words =
      absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  *refusal = 400;
  if (words.size() != 3 || words[0].empty() ||
      !absl::StartsWith(words[1], "/") ||
      !absl::StartsWith(words[2], "HTTP/1.")) {
    return Progress::kRefused;
  }
  const bool http10 = words[2] == "HTTP/1.0";
  bool keep_alive = !http10;
  uint64_t body = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos || colon == 0 ||
        absl::ascii_isspace(lines[i][0])) {
      return Progress::kRefused;
    }
    const absl::string_view name = lines[i].substr(0, colon);
    const absl::string_view value =
        absl::StripAsciiWhitespace(lines[i].substr(colon + 1));
    if (absl::EqualsIgnoreCase(name, "Content-Length")) {
      if (!absl::SimpleAtoi(value, &body)) return Progress::kRefused;
    } else if (absl::EqualsIgnoreCase(name, "Transfer-Encoding")) {
      *refusal = 411;  // Only a body of a stated length is accepted.
      return Progress::kRefused;
    } else if (absl::EqualsIgnoreCase(name, "Connection")) {
      if (absl::EqualsIgnoreCase(value, "close")) keep_alive = false;
      if (absl::EqualsIgnoreCase(value, "keep-alive")) keep_alive = true;
    }
  }
  if (body > max_body) {
    *refusal = 413;
    return Progress::kRefused;
  }
  if (received.size() - head_end - 4 < body) return Progress::kIncomplete;
  const absl::string_view target = words[1].substr(0, words[1].find('?'));
  *request = {.method = std::string(words[0]),
              .path = PercentDecode(target),
              .keep_alive = keep_alive,
              .size = head_end + 4 + static_cast<size_t>(body)};
  return Progress::kComplete;
}

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
  if (options.threads < 1 || options.max_connections < 1 ||
      options.max_body_bytes < 0) {
    return absl::InvalidArgumentError(
        "QuoteServer needs a thread, a connection and a body size >= 0");
  }
  const int listener =
      socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listener < 0) return ErrnoError(errno, "socket");
  const int on = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // 127.0.0.1 only.
  socklen_t length = sizeof(address);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listener, SOMAXCONN) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) !=
          0) {
    const int error = errno;
    close(listener);
    return ErrnoError(error, "listen on 127.0.0.1");
  }
  const int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) {
    const int error = errno;
    close(listener);
    return ErrnoError(error, "eventfd");
  }
  std::unique_ptr<QuoteServer> server(new QuoteServer(options, listener, wake));
  server->port_ = ntohs(address.sin_port);
  QuoteServer* self = server.get();
  // A thread that cannot start is dropped at once, so that Stop() (run by the
  // destructor on the way out) joins only the started ones.
  auto reader = std::make_unique<threading::Thread>(
      threading::ThreadOptions{.name = "quote-reader", .daemon = true},
      [self] { self->Read(); });
  if (absl::Status status = reader->Start(); !status.ok()) return status;
  server->reader_ = std::move(reader);
  server->workers_.reserve(options.threads);
  for (int i = 0; i < options.threads; ++i) {
    auto worker = std::make_unique<threading::Thread>(
        threading::ThreadOptions{.name = absl::StrCat("quote-worker-", i),
                                 .daemon = true},
        [self] { self->Work(); });
    if (absl::Status status = worker->Start(); !status.ok()) return status;
    server->workers_.push_back(std::move(worker));
  }
  return server;
}

QuoteServer::QuoteServer(QuoteServerOptions options, int listener, int wake)
    : options_(options), listener_(listener), wake_(wake) {}

QuoteServer::~QuoteServer() { Stop(); }

void QuoteServer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  stopping_.Notify();
  Wake();
  if (reader_ != nullptr) reader_->Join();
  for (const auto& worker : workers_) worker->Join();
  std::vector<std::unique_ptr<Connection>> left;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [connection, request] : queue_) {
      left.push_back(std::move(connection));
    }
    queue_.clear();
    for (auto& connection : returned_) left.push_back(std::move(connection));
    returned_.clear();
  }
  for (auto& connection : left) Close(std::move(connection));
  close(listener_);
  close(wake_);
}

void QuoteServer::Wake() {
  const uint64_t one = 1;
  (void)!write(wake_, &one, sizeof(one));
}

void QuoteServer::Close(std::unique_ptr<Connection> connection) {
  close(connection->fd);
  absl::MutexLock lock(&mu_);
  --open_;
}

void QuoteServer::Read() {
  std::vector<std::unique_ptr<Connection>> reading;
  std::vector<pollfd> polled;
  for (;;) {
    std::vector<std::unique_ptr<Connection>> returned;
    {
      absl::MutexLock lock(&mu_);
      if (stopped_) break;
      returned.swap(returned_);
    }
    const absl::Time now = absl::Now();
    for (auto& connection : returned) {
      connection->deadline = now + options_.request_timeout;
      connection = Advance(std::move(connection));
      if (connection != nullptr) reading.push_back(std::move(connection));
    }
    // Closes connections that did not send a whole request in time.
    std::vector<std::unique_ptr<Connection>> kept;
    absl::Time next_deadline = absl::InfiniteFuture();
    for (auto& connection : reading) {
      if (connection->deadline <= now) {
        Close(std::move(connection));
      } else {
        next_deadline = std::min(next_deadline, connection->deadline);
        kept.push_back(std::move(connection));
      }
    }
    reading.swap(kept);

    polled.assign({{.fd = wake_, .events = POLLIN, .revents = 0},
                   {.fd = listener_, .events = POLLIN, .revents = 0}});
    for (const auto& connection : reading) {
      polled.push_back({.fd = connection->fd, .events = POLLIN, .revents = 0});
    }
    const int timeout_ms =
        next_deadline == absl::InfiniteFuture()
            ? -1
            : static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(
                  std::max(next_deadline - now, absl::ZeroDuration()),
                  absl::Milliseconds(1))));
    if (poll(polled.data(), polled.size(), timeout_ms) < 0 && errno != EINTR) {
      break;
    }
    if (polled[0].revents != 0) {
      uint64_t count = 0;
      (void)!read(wake_, &count, sizeof(count));
    }
    // Reads from the connections polled (Accept() below appends new ones).
    const size_t limit = kMaxHeadBytes + options_.max_body_bytes;
    for (size_t i = 0; i < reading.size(); ++i) {
      if (polled[i + 2].revents == 0) continue;
      Connection& connection = *reading[i];
      bool open = true;
      char buffer[16 << 10];
      while (connection.received.size() < limit) {
        const ssize_t n = recv(
            connection.fd, buffer,
            std::min(sizeof(buffer), limit - connection.received.size()), 0);
        if (n > 0) {
          connection.received.append(buffer, static_cast<size_t>(n));
        } else if (n < 0 && errno == EINTR) {
          continue;
        } else {
          open = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
          break;
        }
      }
      if (!open) {
        Close(std::move(reading[i]));
      } else {
        reading[i] = Advance(std::move(reading[i]));
      }
    }
    reading.erase(std::remove(reading.begin(), reading.end(), nullptr),
                  reading.end());
    if (polled[1].revents != 0) Accept(reading);
  }
  for (auto& connection : reading) Close(std::move(connection));
}

void QuoteServer::Accept(std::vector<std::unique_ptr<Connection>>& reading) {
  for (;;) {
    const int fd =
        accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // Out of descriptors: the oldest connection still sending makes room.
      if ((errno == EMFILE || errno == ENFILE) && !reading.empty()) {
        Close(std::move(reading.front()));
        reading.erase(reading.begin());
        continue;
      }
      return;  // EAGAIN: nothing more to accept.
    }
    bool full = false;
    {
      absl::MutexLock lock(&mu_);
      full = open_ >= options_.max_connections;
      if (!full || !reading.empty()) ++open_;
    }
    if (full) {
      if (reading.empty()) {  // Every connection is being answered.
        close(fd);
        continue;
      }
      // The oldest connection that has not sent its request makes room.
      Close(std::move(reading.front()));
      reading.erase(reading.begin());
    }
    auto connection = std::make_unique<Connection>();
    connection->fd = fd;
    connection->deadline = absl::Now() + options_.request_timeout;
    reading.push_back(std::move(connection));
  }
}

std::unique_ptr<QuoteServer::Connection> QuoteServer::Advance(
    std::unique_ptr<Connection> connection) {
  auto request = std::make_unique<Request>();
  int refusal = 0;
  switch (ParseRequest(connection->received,
                       static_cast<size_t>(options_.max_body_bytes),
                       request.get(), &refusal)) {
    case Progress::kIncomplete:
      return connection;
    case Progress::kRefused:
      // One try: the answer is small, and the reader never waits on a client.
      WriteAll(connection->fd,
               Response(refusal,
                        absl::StrCat("<html><body>", refusal, " ",
                                     Reason(refusal), "</body></html>\n"),
                        "", /*keep_alive=*/false),
               absl::InfinitePast());
      Close(std::move(connection));
      return nullptr;
    case Progress::kComplete:
      break;
  }
  absl::MutexLock lock(&mu_);
  queue_.emplace_back(std::move(connection), std::move(request));
  return nullptr;
}

bool QuoteServer::HasWork() const { return stopped_ || !queue_.empty(); }

void QuoteServer::Work() {
  for (;;) {
    std::unique_ptr<Connection> connection;
    std::unique_ptr<Request> request;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &QuoteServer::HasWork));
      if (stopped_) return;
      std::tie(connection, request) = std::move(queue_.front());
      queue_.pop_front();
    }
    const Answer answer = Route(*request);
    const bool written =
        WriteAll(connection->fd,
                 Response(answer.status, answer.body, answer.location,
                          request->keep_alive),
                 absl::Now() + kWriteTimeout);
    connection->received.erase(0, request->size);
    if (written && request->keep_alive) {
      absl::MutexLock lock(&mu_);
      if (!stopped_) {
        returned_.push_back(std::move(connection));
      }
    }
    if (connection != nullptr) {
      Close(std::move(connection));
    } else {
      Wake();
    }
  }
}

QuoteServer::Answer QuoteServer::Route(const Request& request) {
  if (request.method != "GET") {
    return {405, "<html><body>Only GET is served</body></html>\n"};
  }
  const absl::string_view path = request.path;
  for (absl::string_view prefix : {"/quote/", "/q/"}) {
    if (!absl::StartsWith(path, prefix)) continue;
    const absl::string_view symbol = path.substr(prefix.size());
    if (symbol.empty() || absl::StrContains(symbol, '/')) break;
    if (prefix == "/q/") {
      return {301, "", absl::StrCat("/quote/", symbol)};
    }
    return Serve(std::string(symbol));
  }
  if (path == "/") {
    return {200,
            "<!DOCTYPE html><html><body><h1>pyconc quote server</h1>"
            "<p>GET /quote/SYMBOL (ERR500, FLAKY, MISSING, SLOW, NOPRICE and "
            "BADHTML misbehave on purpose)</p></body></html>\n"};
  }
  return {404, "<html><body>Not found</body></html>\n"};
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
