// http::Client: awaitable HTTP GETs on the event loop, on libcurl's multi
// interface, the way aiohttp's ClientSession serves asyncio programs.
//
//   Coroutine<void> Main() {
//     http::Client client({.timeout = absl::Seconds(5), .max_retries = 2});
//     absl::StatusOr<stocks::Page> page = co_await client.Get(url);
//     if (!page.ok()) std::cerr << page.status() << "\n";
//   }
//
// No thread of its own: libcurl tells the client which sockets to watch and
// when its next timeout falls (CURLMOPT_SOCKETFUNCTION, TIMERFUNCTION), the
// client hands those to the loop as readers, writers and a timer, and each
// event drives curl_multi_socket_action. Many GETs run at once on the loop's
// one thread; the multi handle keeps connections alive between them. (Host
// names are resolved by libcurl's resolver, which in Debian's build is a
// short-lived thread per name; an IP address needs none.)
//
// A GET behaves as the threaded scraper's stocks::Fetcher::Get (fetch.h), with
// the same options and the same error statuses and wording: a timeout per
// attempt ("TimeoutError: no complete answer within 5s"), a size limit, 5xx,
// 429, timeouts, refused and truncated transfers retried with a doubling
// back-off (an asyncio Sleep, so the loop runs meanwhile), 4xx not retried,
// "... after 3 attempts". Every attempt gets a fresh easy handle (Debian's
// libcurl 7.88.1 keeps a dangling header pointer across transfers on one).
//
// Cancellation: a cancelled Get (Task::Cancel, WaitFor's timeout) takes its
// transfer out of the multi handle and frees it before CancelledError leaves
// the await; the connection is closed or kept for the next GET.
//
// Thread-safety: a Client belongs to the loop that was running when it was
// made, and is used on that loop's thread. It must outlive its Gets: a Client
// destroyed while a Get is in progress (a transfer in flight, or the pause
// before a retry) is misuse (RuntimeError), never a use after free.

#ifndef PYCONC_ASYNCIO_HTTP_CLIENT_H_
#define PYCONC_ASYNCIO_HTTP_CLIENT_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "asyncio/coroutine.h"
#include "asyncio/handle.h"
#include "asyncio/loop.h"
#include "threading/stocks/fetch.h"

namespace pyconc::asyncio::http {

// The scraper's options and page (threading/stocks/fetch.h): timeout per
// attempt, retries, back-off, redirects, body size limit.
using Options = stocks::FetchOptions;
using Page = stocks::Page;

class Client {
 public:
  // A client on the running loop (misuse without one). Aborts naming the
  // failure if libcurl cannot be initialized or make a multi handle (out of
  // memory).
  explicit Client(Options options = {});
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  // Closes the kept-alive connections. Misuse while a Get is in progress.
  ~Client();

  // GETs `url` (absolute http or https), following redirects and retrying as
  // the top of this file says: the page of a 2xx answer, or the status.
  // `page->attempts` counts the attempts.
  Coroutine<absl::StatusOr<Page>> Get(std::string url);

  // Transfers in the multi handle now (a Get between attempts has none).
  int InFlight() const { return in_flight_; }

 private:
  class Transfer;
  // What the loop watches of one of libcurl's sockets.
  struct Watch {
    bool in = false;
    bool out = false;
  };

  // libcurl's callbacks, through the Client in `user`.
  static int OnSocket(void* easy, int fd, int what, void* user, void* socketp);
  static int OnTimer(void* multi, long timeout_ms, void* user);  // NOLINT
  static int OnCloseSocket(void* user, int fd);
  // Watches `fd` for what libcurl asked (CURL_POLL_*).
  void SetWatch(int fd, bool in, bool out);
  // Tells libcurl about an event, then completes the finished transfers.
  void Act(int fd, int events);

  const Options options_;
  EventLoop& loop_;
  void* multi_;  // CURLM*, kept out of this header.
  absl::flat_hash_map<int, Watch> watches_;
  TimerHandle timer_;
  int in_flight_ = 0;
  // Gets begun and not finished, those pausing before a retry included.
  int gets_ = 0;
};

}  // namespace pyconc::asyncio::http

#endif  // PYCONC_ASYNCIO_HTTP_CLIENT_H_
