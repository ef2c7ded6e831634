// asyncio echo: an echo server (StartServer) and N clients (OpenConnection)
// on one event loop, on one thread; requests/s and latency percentiles.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "asyncio/asyncio.h"
#include "gflags/gflags.h"
#include "tools/cli/cli.h"

DEFINE_int32(clients, 100, "Client connections, all open at once.");
DEFINE_int32(requests, 200, "Requests each client sends, one after another.");
DEFINE_int32(size, 64, "Bytes per request (the server echoes them back).");
DEFINE_bool(unix, false, "Use a Unix socket instead of TCP over loopback.");

namespace {

namespace aio = pyconc::asyncio;

constexpr char kLesson[] =
    "asyncio echo: streams. StartServer runs a handler task per connection "
    "and\n"
    "OpenConnection gives a client a StreamReader and a StreamWriter; "
    "`co_await\n"
    "reader.ReadExactly(n)` waits without blocking the thread, so one thread "
    "serves\n"
    "every connection at once. N clients each send requests one after "
    "another and\n"
    "time each round trip; all of it, server included, runs on one event "
    "loop.";

struct Run {
  std::vector<absl::Duration> latencies;  // One per request.
  int open = 0;                           // Server connections open now.
  int max_open = 0;
  int in_flight = 0;  // Requests sent and not yet answered.
  int max_in_flight = 0;
  int threads = 0;  // In the process, while the clients ran.
  int64_t mismatches = 0;
  int64_t errors = 0;
  std::string first_error;
};

Run* run_state = nullptr;

void NoteError(const absl::Status& status) {
  if (run_state->errors++ == 0) run_state->first_error = status.ToString();
}

// The server's handler: echoes what arrives until the client closes.
aio::Coroutine<void> Echo(aio::StreamReader reader, aio::StreamWriter writer) {
  Run& run = *run_state;
  run.max_open = std::max(run.max_open, ++run.open);
  while (true) {
    absl::StatusOr<std::string> data = co_await reader.Read(64 * 1024);
    if (!data.ok()) NoteError(data.status());
    if (!data.ok() || data->empty()) break;
    writer.Write(*data);
    absl::Status drained = co_await writer.Drain();
    if (!drained.ok()) break;
  }
  --run.open;
  writer.Close();
}

aio::Coroutine<void> Client(const aio::SocketAddress* address, int id) {
  Run& run = *run_state;
  absl::StatusOr<aio::StreamPair> conn;
  if (FLAGS_unix) {
    conn = co_await aio::OpenUnixConnection(address->host);
  } else {
    conn = co_await aio::OpenConnection(address->host, address->port);
  }
  if (!conn.ok()) {
    NoteError(conn.status());
    co_return;
  }
  auto [reader, writer] = *std::move(conn);
  std::string message(FLAGS_size, 'a' + id % 26);
  for (int i = 0; i < FLAGS_requests; ++i) {
    message[0] = static_cast<char>('0' + i % 10);
    const absl::Time sent = absl::Now();
    run.max_in_flight = std::max(run.max_in_flight, ++run.in_flight);
    writer.Write(message);
    absl::Status drained = co_await writer.Drain();
    absl::StatusOr<std::string> reply =
        co_await reader.ReadExactly(static_cast<size_t>(FLAGS_size));
    --run.in_flight;
    if (!drained.ok() || !reply.ok()) {
      NoteError(drained.ok() ? reply.status() : drained);
      break;
    }
    run.latencies.push_back(absl::Now() - sent);
    if (*reply != message) ++run.mismatches;
  }
  writer.Close();
  (void)co_await writer.WaitClosed();
}

int Threads();

aio::Coroutine<absl::Duration> Main(const std::string& unix_path) {
  absl::StatusOr<aio::Server> server;
  if (FLAGS_unix) {
    server = co_await aio::StartUnixServer(Echo, unix_path);
  } else {
    server = co_await aio::StartServer(Echo, "127.0.0.1", 0);
  }
  if (!server.ok()) {
    NoteError(server.status());
    co_return absl::ZeroDuration();
  }
  const aio::SocketAddress address = server->Sockets().front();
  const absl::Time start = absl::Now();
  std::vector<aio::Task<void>> clients;
  for (int c = 0; c < FLAGS_clients; ++c) {
    clients.push_back(aio::CreateTask(Client(&address, c)));
  }
  for (aio::Task<void>& client : clients) co_await client;
  const absl::Duration elapsed = absl::Now() - start;
  run_state->threads = Threads();
  server->Close();
  co_await server->WaitClosed();
  co_return elapsed;
}

// The threads of this process, from /proc/self/status.
int Threads() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return 0;
}

std::string Percentile(std::vector<absl::Duration>& sorted, double p) {
  if (sorted.empty()) return "-";
  const size_t i = std::min(sorted.size() - 1,
                            static_cast<size_t>(p / 100.0 * sorted.size()));
  return pyconc::cli::FormatDuration(sorted[i]);
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("clients", FLAGS_clients, 1, 1000);
  pyconc::cli::CheckFlagRange("requests", FLAGS_requests, 1, 1000000);
  pyconc::cli::CheckFlagRange("size", FLAGS_size, 1, 1 << 20);
  const double total = static_cast<double>(FLAGS_clients) * FLAGS_requests;
  if (total > 2e6) {
    pyconc::cli::Fail(absl::StrFormat(
        "--clients * --requests is %.0f requests; keep it at most 2000000",
        total));
  }
  if (total * FLAGS_size > 4e9) {
    pyconc::cli::Fail(
        "--clients * --requests * --size is over 4 GB of traffic; make one "
        "smaller");
  }

  Run run;
  run.latencies.reserve(static_cast<size_t>(total));
  run_state = &run;
  // A directory of this run's own: a name made from the pid alone would
  // repeat across pid namespaces (containers, sandboxes) sharing /tmp.
  char socket_dir[] = "/tmp/pyconc-echo-XXXXXX";
  if (FLAGS_unix && mkdtemp(socket_dir) == nullptr) {
    pyconc::cli::Fail(
        absl::StrCat("cannot make a directory in /tmp for the "
                     "socket: ",
                     std::strerror(errno)));
  }
  const std::string unix_path = absl::StrCat(socket_dir, "/echo.sock");
  pyconc::cli::Heading(absl::StrFormat(
      "echo over %s: %d clients x %d requests of %d bytes, one event loop",
      FLAGS_unix ? "a Unix socket" : "TCP loopback", FLAGS_clients,
      FLAGS_requests, FLAGS_size));
  const absl::Duration elapsed = aio::Run(Main(unix_path));
  if (FLAGS_unix) {
    ::unlink(unix_path.c_str());
    ::rmdir(socket_dir);
  }
  const int threads = run.threads;

  std::vector<absl::Duration> sorted = run.latencies;
  std::sort(sorted.begin(), sorted.end());
  const double seconds = absl::ToDoubleSeconds(elapsed);
  const double rate = seconds > 0 ? sorted.size() / seconds : 0;
  std::printf("  requests   %10zu answered, %lld wrong, %lld errors\n",
              sorted.size(), static_cast<long long>(run.mismatches),
              static_cast<long long>(run.errors));
  std::printf("  elapsed    %10s\n",
              pyconc::cli::FormatDuration(elapsed).c_str());
  std::printf("  rate       %10.0f requests/s\n", rate);
  std::printf("  latency    p50 %s   p99 %s   max %s\n",
              Percentile(sorted, 50).c_str(), Percentile(sorted, 99).c_str(),
              Percentile(sorted, 100).c_str());
  std::printf("  open       %10d connections at most, at once\n", run.max_open);
  std::printf("  in flight  %10d requests at most, at once\n",
              run.max_in_flight);
  std::printf("  threads    %10d in this process\n", threads);
  if (run.errors > 0) {
    std::printf("  first error: %s\n", run.first_error.c_str());
  }

  const bool all_answered =
      sorted.size() == static_cast<size_t>(total) && run.mismatches == 0;
  const bool concurrent = FLAGS_clients > 1 &&
                          run.max_in_flight == FLAGS_clients &&
                          run.max_open == FLAGS_clients;
  pyconc::cli::Claim(
      "One thread serves many connections concurrently: a task waiting on a "
      "socket costs no thread, so the loop answers whichever connection is "
      "ready.",
      absl::StrFormat("%d thread(s) kept %d connections open and %d "
                      "requests in flight at once; %.0f requests/s, p50 %s, "
                      "p99 %s.",
                      threads, run.max_open, run.max_in_flight, rate,
                      Percentile(sorted, 50), Percentile(sorted, 99)),
      all_answered && concurrent && threads == 1,
      !all_answered        ? "not every request was answered correctly"
      : FLAGS_clients == 1 ? "one client shows no concurrency; use --clients=2 "
                             "or more"
      : threads != 1       ? "the process ran more than one thread"
                           : "the clients never had every request in flight at "
                             "once");
  return all_answered ? 0 : 1;
}
