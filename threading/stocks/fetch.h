// Fetching a web page over HTTP with libcurl, the way a scraper should: with a
// timeout, following redirects, and retrying (with back-off) the failures that
// a second try may cure.
//
// What is retried: HTTP 5xx and 429 answers, timeouts, refused or reset
// connections, and truncated transfers. What is not: 4xx answers (a 404 stays a
// 404), unknown hosts, malformed URLs. An answer that is still an error after
// the last try comes back as a non-OK absl::Status (never an exception), whose
// message names what happened, e.g. "HTTP 500 after 3 attempts".
//
// Status codes: kDeadlineExceeded is Python's TimeoutError; kNotFound an HTTP
// 404/410 or an unknown host; kUnavailable a server error or a refused
// connection; kInvalidArgument a malformed URL.
//
// Thread-safety: a Fetcher is not thread-safe; give each thread its own. Each
// attempt runs on a fresh libcurl easy handle (Debian's libcurl 7.88.1 keeps a
// pointer to a freed header across transfers on one handle, so a hostile
// server could crash a reused one); the Fetcher's share handle keeps the
// keep-alive connections between attempts, so a thread still reuses its
// connection. InitHttp() must run once before any
// thread uses libcurl; the Fetcher constructor calls it, so a program whose
// only libcurl user is pyconc need do nothing, but one that also calls libcurl
// elsewhere should call InitHttp() from main before starting threads.

#ifndef PYCONC_THREADING_STOCKS_FETCH_H_
#define PYCONC_THREADING_STOCKS_FETCH_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pyconc::stocks {

// How a Fetcher talks to servers.
struct FetchOptions {
  // The whole transfer of one attempt, connection included.
  absl::Duration timeout = absl::Seconds(5);
  // How many times a retryable failure is tried again (0: never).
  int max_retries = 2;
  // The pause before the first retry; it doubles before each further one.
  absl::Duration backoff = absl::Milliseconds(50);
  // How many redirects (3xx with Location) are followed.
  int max_redirects = 5;
  // A page larger than this is refused (kResourceExhausted, "page larger
  // than 8 MiB") rather than held in memory.
  size_t max_body_bytes = 8 << 20;
};

// A page that was fetched with a 2xx answer.
struct Page {
  long http_status = 0;  // NOLINT(runtime/int): libcurl's type.
  std::string body;
  // Where the page came from after redirects.
  std::string url;
  // How many attempts it took (1 when the first one succeeded).
  int attempts = 0;
};

// Initializes libcurl for the process (curl_global_init); runs once, however
// often it is called. Call it from main before starting threads.
void InitHttp();

// Fetches pages, one libcurl easy handle per attempt and one connection cache
// per Fetcher. See the top of this file.
class Fetcher {
 public:
  explicit Fetcher(FetchOptions options = {});
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;
  ~Fetcher();

  // GETs `url`, retrying as described above. `attempts`, when not null,
  // receives the number of attempts made whether or not they succeeded.
  absl::StatusOr<Page> Get(absl::string_view url, int* attempts = nullptr);

 private:
  // One attempt; sets `retryable` to whether another attempt could help.
  absl::StatusOr<Page> GetOnce(const std::string& url, bool* retryable);

  const FetchOptions options_;
  void* share_;  // CURLSH* sharing connections, kept out of this header.
};

// `text` percent-encoded for use inside a URL path ("BRK.B" stays, "A B"
// becomes "A%20B").
std::string UrlEscape(absl::string_view text);

// Checks that `url` is an absolute http(s) URL libcurl can parse, and returns
// its host name.
absl::StatusOr<std::string> UrlHost(absl::string_view url);

}  // namespace pyconc::stocks

#endif  // PYCONC_THREADING_STOCKS_FETCH_H_
