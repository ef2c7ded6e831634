#include "threading/stocks/fetch.h"

#include <curl/curl.h>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/call_once.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "threading/stocks/internal/fetch.h"

namespace pyconc::stocks {
namespace {

absl::once_flag init_once;
CURLcode init_result = CURLE_FAILED_INIT;

// libcurl's write callback: appends to the internal::Attempt in `user`.
size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  auto* attempt = static_cast<internal::Attempt*>(user);
  const size_t bytes = size * count;
  if (attempt->body.size() + bytes > attempt->max_body_bytes) {
    return 0;  // Aborts the transfer.
  }
  attempt->body.append(data, bytes);
  return bytes;
}

// "8 MiB", or "1000 bytes" for a limit that is not a whole number of MiB.
std::string Bytes(size_t bytes) {
  if (bytes != 0 && bytes % (1 << 20) == 0) {
    return absl::StrCat(bytes >> 20, " MiB");
  }
  return absl::StrCat(bytes, " bytes");
}

// The status for a transfer that libcurl could not complete.
absl::Status TransferError(CURLcode code, const char* detail,
                           const FetchOptions& options, bool* retryable) {
  const std::string what =
      detail[0] != '\0' ? std::string(detail) : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      *retryable = true;
      return absl::DeadlineExceededError(
          absl::StrCat("TimeoutError: no complete answer within ",
                       absl::FormatDuration(options.timeout)));
    case CURLE_COULDNT_RESOLVE_HOST:
      return absl::NotFoundError(absl::StrCat("unknown host: ", what));
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      *retryable = true;
      return absl::UnavailableError(absl::StrCat("connection failed: ", what));
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return absl::InvalidArgumentError(absl::StrCat("bad URL: ", what));
    case CURLE_WRITE_ERROR:
      return absl::ResourceExhaustedError(
          absl::StrCat("page larger than ", Bytes(options.max_body_bytes)));
    default:
      return absl::UnavailableError(what);
  }
}

// The status for a completed transfer whose HTTP answer is not a 2xx.
absl::Status HttpError(long http_status, bool* retryable) {  // NOLINT
  const std::string what = absl::StrCat("HTTP ", http_status);
  if (http_status >= 500 || http_status == 429) {
    *retryable = true;
    return absl::UnavailableError(what);
  }
  if (http_status == 404 || http_status == 410) {
    return absl::NotFoundError(what);
  }
  if (http_status >= 300 && http_status < 400) {
    return absl::UnavailableError(
        absl::StrCat(what, " without a usable Location"));
  }
  return absl::FailedPreconditionError(what);
}

// RFC 6761: names under .invalid never resolve, and resolvers should answer at
// once rather than ask DNS. libcurl asks, so pyconc answers first.
bool IsReservedInvalidHost(absl::string_view host) {
  return absl::EqualsIgnoreCase(host, "invalid") ||
         absl::EndsWithIgnoreCase(host, ".invalid");
}

}  // namespace

void InitHttp() {
  absl::call_once(init_once,
                  [] { init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string UrlEscape(absl::string_view text) {
  char* escaped =
      curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  if (escaped == nullptr) return std::string(text);
  std::string result(escaped);
  curl_free(escaped);
  return result;
}

absl::StatusOr<std::string> UrlHost(absl::string_view url) {
  CURLU* parsed = curl_url();
  if (parsed == nullptr) return absl::ResourceExhaustedError("out of memory");
  const std::string text(url);
  std::string result;
  absl::Status status;
  char* scheme = nullptr;
  char* host = nullptr;
  if (curl_url_set(parsed, CURLUPART_URL, text.c_str(), 0) != CURLUE_OK ||
      curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(parsed, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    status = absl::InvalidArgumentError(
        absl::StrCat("not an absolute URL: \"", url, "\""));
  } else if (!absl::EqualsIgnoreCase(scheme, "http") &&
             !absl::EqualsIgnoreCase(scheme, "https")) {
    status = absl::InvalidArgumentError(
        absl::StrCat("not an http(s) URL: \"", url, "\""));
  } else {
    result = host;
  }
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(parsed);
  if (!status.ok()) return status;
  return result;
}

Fetcher::Fetcher(FetchOptions options) : options_(options), share_(nullptr) {
  InitHttp();
  if (init_result != CURLE_OK) return;
  CURLSH* share = curl_share_init();
  if (share == nullptr) return;
  // One thread uses the share handle, so it needs no lock callbacks.
  if (curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) !=
      CURLSHE_OK) {
    curl_share_cleanup(share);
    return;
  }
  share_ = share;
}

Fetcher::~Fetcher() {
  if (share_ != nullptr) curl_share_cleanup(static_cast<CURLSH*>(share_));
}

absl::StatusOr<Page> Fetcher::Get(absl::string_view url, int* attempts) {
  if (attempts != nullptr) *attempts = 0;
  if (share_ == nullptr) {
    return absl::InternalError("libcurl could not be initialized");
  }
  if (absl::Status usable = internal::CheckUrl(url); !usable.ok()) {
    return usable;
  }
  const std::string text(url);
  absl::Duration pause = options_.backoff;
  for (int attempt = 1;; ++attempt) {
    if (attempts != nullptr) *attempts = attempt;
    bool retryable = false;
    absl::StatusOr<Page> page = GetOnce(text, &retryable);
    if (page.ok()) {
      page->attempts = attempt;
      return page;
    }
    if (!retryable || attempt > options_.max_retries) {
      return internal::AfterAttempts(page.status(), attempt);
    }
    absl::SleepFor(pause);  // Back-off: the pause is the point, not a wait.
    pause *= 2;
  }
}

absl::StatusOr<Page> Fetcher::GetOnce(const std::string& url, bool* retryable) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> handle(
      curl_easy_init(), &curl_easy_cleanup);
  CURL* curl = handle.get();
  if (curl == nullptr) {
    return absl::ResourceExhaustedError("libcurl could not create a handle");
  }
  internal::Attempt attempt{.url = url};
  internal::ConfigureAttempt(curl, options_, &attempt);
  curl_easy_setopt(curl, CURLOPT_SHARE, static_cast<CURLSH*>(share_));
  const CURLcode code = curl_easy_perform(curl);
  return internal::FinishAttempt(curl, code, options_, attempt, retryable);
}

namespace internal {

void ConfigureAttempt(CURL* curl, const FetchOptions& options,
                      Attempt* attempt) {
  attempt->max_body_bytes = options.max_body_bytes;
  const long timeout_ms =  // NOLINT(runtime/int): libcurl's type.
      static_cast<long>(absl::ToInt64Milliseconds(options.timeout));  // NOLINT
  // Signals must not be used for timeouts in a multithreaded program.
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS,
                   static_cast<long>(options.max_redirects));  // NOLINT
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  // What Python's requests asks for. Not brotli: servers that encode it at
  // their default quality spend milliseconds on every page.
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "pyconc-stocks/1.0");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(curl, CURLOPT_URL, attempt->url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, attempt);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, attempt->detail);
}

absl::StatusOr<Page> FinishAttempt(CURL* curl, CURLcode code,
                                   const FetchOptions& options,
                                   Attempt& attempt, bool* retryable) {
  if (code != CURLE_OK) {
    return TransferError(code, attempt.detail, options, retryable);
  }
  Page page;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &page.http_status);
  if (page.http_status < 200 || page.http_status >= 300) {
    return HttpError(page.http_status, retryable);
  }
  char* effective = nullptr;
  curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective);
  page.url = effective != nullptr ? effective : attempt.url;
  page.body = std::move(attempt.body);
  return page;
}

absl::Status CheckUrl(absl::string_view url) {
  absl::StatusOr<std::string> host = UrlHost(url);
  if (!host.ok()) return host.status();
  if (IsReservedInvalidHost(*host)) {
    return absl::NotFoundError(absl::StrCat("unknown host: ", *host));
  }
  return absl::OkStatus();
}

absl::Status AfterAttempts(const absl::Status& last, int attempts) {
  if (attempts == 1) return last;
  return absl::Status(last.code(), absl::StrCat(last.message(), " after ",
                                                attempts, " attempts"));
}

}  // namespace internal
}  // namespace pyconc::stocks
