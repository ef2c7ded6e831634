// Many small pages over HTTP: 10,000 quote pages from the local quote server
// (no delay), at most 100 in flight. pyconc's asyncio client (the "pyconc"
// row: http::Client on libcurl's multi interface, one thread, an asyncio
// Semaphore of 100) against pyconc's threaded fetcher on 100 Threads and, in
// python/http_bench.py, Python's aiohttp, against the same server run as a
// process of its own.
// Time is per page; every page is checked for an HTTP 200 with a body.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "asyncio/gather.h"
#include "asyncio/http/client.h"
#include "asyncio/locks.h"
#include "asyncio/run.h"
#include "asyncio/task.h"
#include "benchmark/benchmark.h"
#include "threading/stocks/fetch.h"
#include "threading/stocks/server.h"
#include "threading/thread/thread.h"

namespace {

namespace aio = pyconc::asyncio;

constexpr char kPages[] =
    "http: 10,000 quote pages from the local quote server, at most 100 in "
    "flight (per page)";
constexpr int kCount = 10000;
constexpr int kInFlight = 100;

// The quote server with no delay and a worker per request in flight.
std::unique_ptr<pyconc::stocks::QuoteServer> StartServer() {
  absl::StatusOr<std::unique_ptr<pyconc::stocks::QuoteServer>> server =
      pyconc::stocks::QuoteServer::Start({.delay = absl::ZeroDuration(),
                                          .threads = kInFlight,
                                          .max_connections = 2 * kInFlight});
  return server.ok() ? *std::move(server) : nullptr;
}

std::string PageUrl(const std::string& base, int i) {
  return absl::StrCat(base, "/quote/T", i % 1000);
}

aio::Coroutine<int> GetOne(aio::http::Client& client, aio::Semaphore& limit,
                           std::string url) {
  auto held = co_await aio::Hold(limit);
  absl::StatusOr<pyconc::stocks::Page> page = co_await client.Get(url);
  co_return page.ok() && !page->body.empty() ? 1 : 0;
}

aio::Coroutine<int> GetAll(std::string base) {
  aio::http::Client client;
  aio::Semaphore limit(kInFlight);
  std::vector<aio::Task<int>> gets;
  gets.reserve(kCount);
  for (int i = 0; i < kCount; ++i) {
    gets.push_back(aio::GetRunningLoop().CreateTask(
        GetOne(client, limit, PageUrl(base, i))));
  }
  std::vector<int> ok = co_await aio::Gather(gets);
  int total = 0;
  for (int one : ok) total += one;
  co_return total;
}

void PyconcAsyncio(benchmark::State& state) {
  std::unique_ptr<pyconc::stocks::QuoteServer> server = StartServer();
  if (server == nullptr) {
    state.SkipWithError("cannot start the quote server");
    return;
  }
  while (state.KeepRunningBatch(kCount)) {
    if (aio::Run(GetAll(server->base_url())) != kCount) {
      state.SkipWithError("not every page came");
    }
  }
}
BENCHMARK(PyconcAsyncio)->Name(std::string(kPages) + "/pyconc")->UseRealTime();

// 100 Threads, each with its own Fetcher, taking the next page until none is
// left.
int GetAllOnThreads(const std::string& base) {
  std::atomic<int> next{0};
  std::atomic<int> ok{0};
  std::vector<std::unique_ptr<pyconc::threading::Thread>> threads;
  for (int t = 0; t < kInFlight; ++t) {
    threads.push_back(std::make_unique<pyconc::threading::Thread>([&] {
      pyconc::stocks::Fetcher fetcher;
      for (int i = next++; i < kCount; i = next++) {
        absl::StatusOr<pyconc::stocks::Page> page =
            fetcher.Get(PageUrl(base, i));
        if (page.ok() && !page->body.empty()) ++ok;
      }
    }));
    // A thread that cannot start leaves the pages to the others.
    if (!threads.back()->Start().ok()) {
      threads.pop_back();
      break;
    }
  }
  for (auto& thread : threads) thread->Join();
  return ok.load();
}

void PyconcThreads(benchmark::State& state) {
  std::unique_ptr<pyconc::stocks::QuoteServer> server = StartServer();
  if (server == nullptr) {
    state.SkipWithError("cannot start the quote server");
    return;
  }
  pyconc::stocks::InitHttp();
  while (state.KeepRunningBatch(kCount)) {
    if (GetAllOnThreads(server->base_url()) != kCount) {
      state.SkipWithError("not every page came");
    }
  }
}
BENCHMARK(PyconcThreads)
    ->Name(std::string(kPages) + "/pyconc threads")
    ->UseRealTime();

}  // namespace
