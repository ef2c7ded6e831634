// asyncio streams: an echo server and 100 client connections on one event
// loop, one thread, over TCP loopback; each client sends 500 requests of 64
// bytes one after another and waits for each echo. pyconc's streams against
// Boost.Asio's C++20 coroutines on one io_context; the Python peers (asyncio
// streams, uvloop) are in python/streams_bench.py. Time is per request (the
// batch's wall time over the 50,000 requests): 1e9 / time is requests/s.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "asyncio/run.h"
#include "asyncio/streams.h"
#include "asyncio/task.h"
#include "benchmark/benchmark.h"
#include "boost/asio/awaitable.hpp"
#include "boost/asio/co_spawn.hpp"
#include "boost/asio/detached.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/read.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "boost/asio/write.hpp"

namespace {

namespace aio = pyconc::asyncio;
namespace asio = boost::asio;
using asio::ip::tcp;

constexpr char kEcho[] =
    "asyncio: echo over loopback, 100 connections x 500 requests of 64 B "
    "(per request)";
constexpr int kConnections = 100;
constexpr int kRequests = 500;
constexpr size_t kSize = 64;
constexpr int kTotal = kConnections * kRequests;

// ---------------------------------------------------------------- pyconc

aio::Coroutine<void> Echo(aio::StreamReader reader, aio::StreamWriter writer) {
  while (true) {
    absl::StatusOr<std::string> data = co_await reader.Read(64 * 1024);
    if (!data.ok() || data->empty()) break;
    writer.Write(*data);
    absl::Status drained = co_await writer.Drain();
    if (!drained.ok()) break;
  }
  writer.Close();
}

aio::Coroutine<int64_t> Client(int port) {
  absl::StatusOr<aio::StreamPair> conn =
      co_await aio::OpenConnection("127.0.0.1", port);
  if (!conn.ok()) co_return 0;
  auto [reader, writer] = *std::move(conn);
  const std::string message(kSize, 'x');
  int64_t answered = 0;
  for (int i = 0; i < kRequests; ++i) {
    writer.Write(message);
    absl::Status drained = co_await writer.Drain();
    absl::StatusOr<std::string> reply = co_await reader.ReadExactly(kSize);
    if (!drained.ok() || !reply.ok()) break;
    answered += *reply == message;
  }
  writer.Close();
  co_return answered;
}

aio::Coroutine<int64_t> EchoAll() {
  absl::StatusOr<aio::Server> server =
      co_await aio::StartServer(Echo, "127.0.0.1", 0);
  if (!server.ok()) co_return 0;
  const int port = server->Sockets().front().port;
  std::vector<aio::Task<int64_t>> clients;
  for (int c = 0; c < kConnections; ++c) {
    clients.push_back(aio::CreateTask(Client(port)));
  }
  int64_t answered = 0;
  for (aio::Task<int64_t>& client : clients) answered += co_await client;
  server->Close();
  co_await server->WaitClosed();
  co_return answered;
}

void PyconcEcho(benchmark::State& state) {
  while (state.KeepRunningBatch(kTotal)) {
    const int64_t answered = aio::Run(EchoAll());
    if (answered != kTotal) state.SkipWithError("not every request answered");
  }
}
BENCHMARK(PyconcEcho)->Name(std::string(kEcho) + "/pyconc")->UseRealTime();

// ---------------------------------------------------------------- Boost.Asio

asio::awaitable<void> AsioSession(tcp::socket socket) {
  char data[64 * 1024];
  try {
    while (true) {
      const size_t n = co_await socket.async_read_some(asio::buffer(data),
                                                       asio::use_awaitable);
      co_await asio::async_write(socket, asio::buffer(data, n),
                                 asio::use_awaitable);
    }
  } catch (const std::exception&) {
    // The client closed: end of this session.
  }
}

asio::awaitable<void> AsioListen(tcp::acceptor& acceptor, int* sessions) {
  while (*sessions < kConnections) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    socket.set_option(tcp::no_delay(true));
    ++*sessions;
    asio::co_spawn(acceptor.get_executor(), AsioSession(std::move(socket)),
                   asio::detached);
  }
}

asio::awaitable<void> AsioClient(tcp::endpoint server, int64_t* answered) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(server, asio::use_awaitable);
  socket.set_option(tcp::no_delay(true));
  const std::string message(kSize, 'x');
  std::string reply(kSize, '\0');
  for (int i = 0; i < kRequests; ++i) {
    co_await asio::async_write(socket, asio::buffer(message),
                               asio::use_awaitable);
    co_await asio::async_read(socket, asio::buffer(reply.data(), kSize),
                              asio::use_awaitable);
    *answered += reply == message;
  }
}

int64_t AsioEchoAll() {
  asio::io_context context(1);
  tcp::acceptor acceptor(context,
                         tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  int sessions = 0;
  int64_t answered = 0;
  asio::co_spawn(context, AsioListen(acceptor, &sessions), asio::detached);
  for (int c = 0; c < kConnections; ++c) {
    asio::co_spawn(context, AsioClient(acceptor.local_endpoint(), &answered),
                   asio::detached);
  }
  context.run();
  return answered;
}

void AsioEcho(benchmark::State& state) {
  while (state.KeepRunningBatch(kTotal)) {
    if (AsioEchoAll() != kTotal) {
      state.SkipWithError("not every request answered");
    }
  }
}
BENCHMARK(AsioEcho)->Name(std::string(kEcho) + "/Boost.Asio")->UseRealTime();

}  // namespace
