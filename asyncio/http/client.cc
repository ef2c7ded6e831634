#include "asyncio/http/client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "asyncio/future.h"
#include "asyncio/sleep.h"
#include "base/misuse.h"
#include "threading/stocks/internal/fetch.h"

namespace pyconc::asyncio::http {

using pyconc::internal::Misuse;

// One attempt in the multi handle: its easy handle, what it collects, and the
// future its Get awaits (set to libcurl's result code when it finishes).
// Leaving the multi handle and freeing the easy handle happen in the
// destructor, so a cancelled Get cleans up as its frame unwinds.
class Client::Transfer {
 public:
  Transfer(Client& client, const std::string& url)
      : client_(client), easy_(curl_easy_init()) {
    attempt_.url = url;
  }
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer() {
    if (in_multi_) {
      curl_multi_remove_handle(client_.multi_, easy_);
      --client_.in_flight_;
    }
    if (easy_ != nullptr) curl_easy_cleanup(easy_);
  }

  // Joins the multi handle; false when libcurl cannot (out of memory).
  bool Start() {
    if (easy_ == nullptr) return false;
    stocks::internal::ConfigureAttempt(easy_, client_.options_, &attempt_);
    curl_easy_setopt(easy_, CURLOPT_PRIVATE, this);
    curl_easy_setopt(easy_, CURLOPT_CLOSESOCKETFUNCTION, &OnCloseSocket);
    curl_easy_setopt(easy_, CURLOPT_CLOSESOCKETDATA, &client_);
    if (curl_multi_add_handle(client_.multi_, easy_) != CURLM_OK) return false;
    in_multi_ = true;
    ++client_.in_flight_;
    return true;
  }
  // libcurl finished it: out of the multi handle, the Get resumes.
  void Finish(CURLcode code) {
    curl_multi_remove_handle(client_.multi_, easy_);
    in_multi_ = false;
    --client_.in_flight_;
    if (!done_.Done()) done_.SetResult(static_cast<int>(code));
  }
  Future<int>& done() { return done_; }
  absl::StatusOr<Page> Outcome(CURLcode code, bool* retryable) {
    return stocks::internal::FinishAttempt(easy_, code, client_.options_,
                                           attempt_, retryable);
  }

 private:
  Client& client_;
  CURL* const easy_;
  stocks::internal::Attempt attempt_;
  Future<int> done_;
  bool in_multi_ = false;
};

Client::Client(Options options)
    : options_(options), loop_(GetRunningLoop()), multi_(nullptr) {
  stocks::InitHttp();
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) {
    Misuse("MemoryError", "libcurl could not create a multi handle");
  }
  multi_ = multi;
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &OnSocket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &OnTimer);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  // Room for the idle connections of many GETs at once (libcurl's default
  // follows the easy handles added, and each attempt has its own): the
  // bench's 10,000-page row went from 93 to 54 us a page with it.
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 256L);
}

Client::~Client() {
  if (gets_ > 0) {
    Misuse("RuntimeError", absl::StrCat("http::Client destroyed while ", gets_,
                                        " Get(s) are in progress (", in_flight_,
                                        " transfer(s) in flight)"));
  }
  // Closes the cached connections through OnCloseSocket; libcurl may set a
  // timer meanwhile, which must not fire on a destroyed client.
  curl_multi_cleanup(multi_);
  timer_.Cancel();
  for (const auto& [fd, watch] : watches_) {
    if (watch.in) loop_.RemoveReader(fd);
    if (watch.out) loop_.RemoveWriter(fd);
  }
}

Coroutine<absl::StatusOr<Page>> Client::Get(std::string url) {
  if (absl::Status usable = stocks::internal::CheckUrl(url); !usable.ok()) {
    co_return usable;
  }
  ++gets_;
  const absl::Cleanup finished = [this] { --gets_; };
  absl::Duration pause = options_.backoff;
  for (int attempt = 1;; ++attempt) {
    bool retryable = false;
    absl::StatusOr<Page> page;
    {
      Transfer transfer(*this, url);
      if (!transfer.Start()) {
        co_return absl::ResourceExhaustedError(
            "libcurl could not start a transfer");
      }
      // libcurl starts it at its next timeout, which it has just set.
      Future<int>& done = transfer.done();
      const int code = co_await done;
      page = transfer.Outcome(static_cast<CURLcode>(code), &retryable);
    }
    if (page.ok()) {
      page->attempts = attempt;
      co_return page;
    }
    if (!retryable || attempt > options_.max_retries) {
      co_return stocks::internal::AfterAttempts(page.status(), attempt);
    }
    co_await Sleep(pause);
    pause *= 2;
  }
}

int Client::OnSocket(void* /*easy*/, int fd, int what, void* user,
                     void* /*socketp*/) {
  static_cast<Client*>(user)->SetWatch(
      fd, what == CURL_POLL_IN || what == CURL_POLL_INOUT,
      what == CURL_POLL_OUT || what == CURL_POLL_INOUT);
  return 0;
}

int Client::OnTimer(void* /*multi*/, long timeout_ms, void* user) {  // NOLINT
  auto* client = static_cast<Client*>(user);
  client->timer_.Cancel();
  client->timer_ = TimerHandle();
  if (timeout_ms >= 0) {
    // Never from inside libcurl's callback: on the loop, as a timer.
    client->timer_ =
        client->loop_.CallLater(absl::Milliseconds(timeout_ms), [client] {
          client->timer_ = TimerHandle();
          client->Act(CURL_SOCKET_TIMEOUT, 0);
        });
  }
  return 0;
}

int Client::OnCloseSocket(void* user, int fd) {
  // The loop stops watching `fd` before its number can be reused.
  static_cast<Client*>(user)->SetWatch(fd, false, false);
  return ::close(fd);
}

void Client::SetWatch(int fd, bool in, bool out) {
  Watch& watch = watches_[fd];
  if (in && !watch.in) {
    loop_.AddReader(fd, [this, fd] { Act(fd, CURL_CSELECT_IN); });
  } else if (!in && watch.in) {
    loop_.RemoveReader(fd);
  }
  if (out && !watch.out) {
    loop_.AddWriter(fd, [this, fd] { Act(fd, CURL_CSELECT_OUT); });
  } else if (!out && watch.out) {
    loop_.RemoveWriter(fd);
  }
  watch = {in, out};
  if (!in && !out) watches_.erase(fd);
}

void Client::Act(int fd, int events) {
  int running = 0;
  curl_multi_socket_action(multi_, fd, events, &running);
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    const CURLcode code = message->data.result;
    Transfer* transfer = nullptr;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &transfer);
    transfer->Finish(code);  // `message` is gone after this.
  }
}

}  // namespace pyconc::asyncio::http
