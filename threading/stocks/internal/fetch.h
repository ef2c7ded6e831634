// One HTTP attempt as both of pyconc's fetchers make it: the threaded
// Fetcher (curl_easy_perform) and asyncio's http::Client (libcurl's multi
// interface on the event loop). They set up the easy handle, judge the
// outcome and word the errors the same way through these functions.
//
// Thread-safety: an Attempt and its easy handle belong to one thread.

#ifndef PYCONC_THREADING_STOCKS_INTERNAL_FETCH_H_
#define PYCONC_THREADING_STOCKS_INTERNAL_FETCH_H_

#include <curl/curl.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "threading/stocks/fetch.h"

namespace pyconc::stocks::internal {

// What one attempt collects while libcurl runs it. Its address is given to
// libcurl: keep it in place until the transfer is over.
struct Attempt {
  std::string url;
  std::string body;
  size_t max_body_bytes = 0;
  char detail[CURL_ERROR_SIZE] = {};
};

// Sets on the fresh easy handle `curl` everything an attempt to GET
// `attempt->url` uses (timeouts, redirects, encodings, the body limit),
// writing the body and the error text into `*attempt`.
void ConfigureAttempt(CURL* curl, const FetchOptions& options,
                      Attempt* attempt);

// The outcome of an attempt that libcurl finished with `code`: the page, or
// the status described in fetch.h; sets `*retryable` to whether another
// attempt could help.
absl::StatusOr<Page> FinishAttempt(CURL* curl, CURLcode code,
                                   const FetchOptions& options,
                                   Attempt& attempt, bool* retryable);

// OK when `url` is worth an attempt: an absolute http(s) URL whose host is
// not reserved as invalid (RFC 6761, answered at once).
absl::Status CheckUrl(absl::string_view url);

// The status of the last of `attempts` attempts, as Get reports it ("HTTP 500
// after 3 attempts").
absl::Status AfterAttempts(const absl::Status& last, int attempts);

}  // namespace pyconc::stocks::internal

#endif  // PYCONC_THREADING_STOCKS_INTERNAL_FETCH_H_
