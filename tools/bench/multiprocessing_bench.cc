// Process pools: 20,000 tiny tasks (x*x) on 2 worker processes, each with its
// own future, all results collected; and the same batch through Map() with
// Python's Pool.map default chunking. One benchmark iteration is one task, so
// the table shows ns per task. And a 64 MiB argument and result through a
// one-worker pool, one round trip per iteration.
//
// The C++ peer is the pool anyone would write with fork() and pipes: workers
// read fixed-size requests from one shared pipe (writes of 16 bytes are
// atomic), each answers on a pipe of its own, and a reader thread in the parent
// fulfils one std::promise per call. Map sends one request per chunk.
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "multiprocessing/pool/executor.h"

namespace {

constexpr int kTasks = 20'000;
constexpr int kWorkers = 2;
// Python's Pool.map default: ceil(len / (4 * workers)).
constexpr int kChunksize = (kTasks + 4 * kWorkers - 1) / (4 * kWorkers);

int64_t Square(int64_t x) { return x * x; }

// The sum every workload's results must add up to.
constexpr int64_t kSumOfSquares =
    int64_t{kTasks - 1} * kTasks * (2 * int64_t{kTasks} - 1) / 6;

void PyconcSubmit(benchmark::State& state) {
  pyconc::futures::ProcessPoolExecutor pool({.max_workers = kWorkers});
  std::vector<pyconc::futures::Future<int64_t>> futures;
  futures.reserve(kTasks);
  int64_t sum = 0;
  int64_t i = 0;
  for (auto _ : state) {
    futures.push_back(*pool.Submit(&Square, i));
    if (++i == kTasks) {
      for (auto& f : futures) sum += f.Result();
      futures.clear();
      i = 0;
    }
  }
  for (auto& f : futures) sum += f.Result();
  if (sum != kSumOfSquares) state.SkipWithError("wrong results");
}
BENCHMARK(PyconcSubmit)
    ->Name("process pool 20k x*x, 2 workers, Submit/pyconc")
    ->Iterations(kTasks)
    ->UseRealTime();

void PyconcMap(benchmark::State& state) {
  pyconc::futures::ProcessPoolExecutor pool({.max_workers = kWorkers});
  std::vector<int64_t> inputs;
  for (int64_t x = 0; x < kTasks; ++x) inputs.push_back(x);
  int64_t sum = 0;
  int64_t i = 0;
  for (auto _ : state) {
    // The whole batch runs in the last iteration, so the time per iteration
    // is the time per task.
    if (++i < kTasks) continue;
    for (absl::StatusOr<int64_t> r :
         pool.Map(&Square, inputs, {.chunksize = kChunksize})) {
      sum += *r;
    }
    i = 0;
  }
  if (sum != kSumOfSquares) state.SkipWithError("wrong results");
}
BENCHMARK(PyconcMap)
    ->Name("process pool 20k x*x, 2 workers, Map/pyconc")
    ->Iterations(kTasks)
    ->UseRealTime();

// A 64 MiB argument to a worker and a 64 MiB result back, one call at a time:
// what moving big data through a pool costs. One iteration is one round trip.
// One untimed round trip first, in every row: the first 64 MiB a process
// touches can come from memory the machine (a VM's host, here) never backed,
// which made the first round trip 2-4x the others for pyconc and 1.4x for
// Python, and then ruled a mean of five.
constexpr size_t kBigPayload = size_t{64} << 20;

std::string Echo(std::string bytes) { return bytes; }

void PyconcBigRoundTrip(benchmark::State& state) {
  pyconc::futures::ProcessPoolExecutor pool({.max_workers = 1});
  const std::string payload(kBigPayload, 'x');
  (void)pool.Submit(&Echo, payload)->Result();  // Worker up, memory touched.
  for (auto _ : state) {
    auto future = pool.Submit(&Echo, payload);
    if (!future.ok() || future->Result().size() != kBigPayload) {
      state.SkipWithError("wrong result");
    }
  }
}
BENCHMARK(PyconcBigRoundTrip)
    ->Name("process pool 64 MiB argument+result round trip/pyconc")
    ->Iterations(5)
    ->UseRealTime();

// ---------------------------------------------------------------- fork + pipes

// A request: compute Square(first .. first + count - 1) for call `id`. The
// answer is the id and the count, then `count` results.
struct Request {
  int32_t id;
  int32_t count;
  int64_t first;
};
static_assert(sizeof(Request) == 16);

bool ReadFull(int fd, void* data, size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::read(fd, p, size);
    if (n <= 0) return false;
    p += n;
    size -= n;
  }
  return true;
}

bool WriteFull(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n <= 0) return false;
    p += n;
    size -= n;
  }
  return true;
}

class ForkPipesPool {
 public:
  // Room for `max_calls` calls: each has its slot, so the reader thread never
  // sees the table move.
  explicit ForkPipesPool(int max_calls) : calls_(max_calls) {
    int requests[2];
    if (::pipe(requests) != 0) std::abort();
    for (int w = 0; w < kWorkers; ++w) {
      int answers[2];
      if (::pipe(answers) != 0) std::abort();
      const pid_t pid = ::fork();
      if (pid < 0) std::abort();
      if (pid == 0) {
        // The worker keeps only its two ends: a write end of the requests
        // left open here would keep every worker from seeing EOF.
        ::close(requests[1]);
        ::close(answers[0]);
        for (int fd : answers_) ::close(fd);
        Serve(requests[0], answers[1]);
      }
      ::close(answers[1]);
      workers_.push_back(pid);
      answers_.push_back(answers[0]);
    }
    ::close(requests[0]);
    requests_ = requests[1];
    reader_ = std::thread([this] { ReadAnswers(); });
  }

  ~ForkPipesPool() {
    ::close(requests_);  // Workers see EOF and exit; their pipes then close.
    reader_.join();
    for (pid_t pid : workers_) ::waitpid(pid, nullptr, 0);
    for (int fd : answers_) ::close(fd);
  }

  // Square(x) in a worker.
  std::future<int64_t> Submit(int64_t x) {
    int64_t* slot = &singles_.emplace_back();
    return Send(x, 1, slot);
  }

  // Square of every input, sent `chunksize` at a time, in order.
  std::vector<int64_t> Map(const std::vector<int64_t>& inputs, int chunksize) {
    std::vector<int64_t> results(inputs.size());
    std::vector<std::future<int64_t>> chunks;
    for (size_t first = 0; first < inputs.size(); first += chunksize) {
      const int count =
          static_cast<int>(std::min<size_t>(chunksize, inputs.size() - first));
      chunks.push_back(Send(inputs[first], count, &results[first]));
    }
    for (std::future<int64_t>& chunk : chunks) chunk.get();
    return results;
  }

  // Forgets the calls made so far (all answered).
  void Reset() {
    next_call_ = 0;
    singles_.clear();
  }

 private:
  struct Call {
    int64_t* out;  // Where the results go.
    std::promise<int64_t> done;
  };

  // Inputs first .. first + count - 1 (consecutive, as every workload here is).
  std::future<int64_t> Send(int64_t first, int count, int64_t* out) {
    const int32_t id = next_call_++;
    calls_[id] = Call{out, {}};
    std::future<int64_t> future = calls_[id].done.get_future();
    const Request request{id, count, first};
    if (!WriteFull(requests_, &request, sizeof(request))) std::abort();
    return future;
  }

  [[noreturn]] static void Serve(int requests, int answers) {
    Request request;
    std::vector<int64_t> out;
    while (ReadFull(requests, &request, sizeof(request))) {
      out.assign({request.id, request.count});
      for (int32_t k = 0; k < request.count; ++k) {
        out.push_back(Square(request.first + k));
      }
      if (!WriteFull(answers, out.data(), out.size() * sizeof(int64_t))) break;
    }
    std::_Exit(0);
  }

  void ReadAnswers() {
    std::vector<pollfd> fds;
    for (int fd : answers_) fds.push_back({fd, POLLIN, 0});
    size_t open = fds.size();
    while (open > 0) {
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;
      for (pollfd& p : fds) {
        if (p.fd < 0 || p.revents == 0) continue;
        int64_t header[2];
        if (!ReadFull(p.fd, header, sizeof(header))) {
          p.fd = -1;
          --open;
          continue;
        }
        Call& call = calls_[header[0]];
        if (!ReadFull(p.fd, call.out, header[1] * sizeof(int64_t)))
          std::abort();
        call.done.set_value(call.out[0]);
      }
    }
  }

  int requests_ = -1;
  std::vector<pid_t> workers_;
  std::vector<int> answers_;
  std::vector<Call> calls_;
  int32_t next_call_ = 0;
  std::deque<int64_t> singles_;  // Submit()'s result slots; never move.
  std::thread reader_;
};

void ForkPipesSubmit(benchmark::State& state) {
  ForkPipesPool pool(kTasks);
  std::vector<std::future<int64_t>> futures;
  futures.reserve(kTasks);
  int64_t sum = 0;
  int64_t i = 0;
  for (auto _ : state) {
    futures.push_back(pool.Submit(i));
    if (++i == kTasks) {
      for (auto& f : futures) sum += f.get();
      futures.clear();
      pool.Reset();
      i = 0;
    }
  }
  for (auto& f : futures) sum += f.get();
  if (sum != kSumOfSquares) state.SkipWithError("wrong results");
}
BENCHMARK(ForkPipesSubmit)
    ->Name(
        "process pool 20k x*x, 2 workers, Submit/fork + pipes, std::future per "
        "call")
    ->Iterations(kTasks)
    ->UseRealTime();

void ForkPipesMap(benchmark::State& state) {
  ForkPipesPool pool(kTasks);
  std::vector<int64_t> inputs;
  for (int64_t x = 0; x < kTasks; ++x) inputs.push_back(x);
  int64_t sum = 0;
  int64_t i = 0;
  for (auto _ : state) {
    if (++i < kTasks) continue;
    for (int64_t r : pool.Map(inputs, kChunksize)) sum += r;
    pool.Reset();
    i = 0;
  }
  if (sum != kSumOfSquares) state.SkipWithError("wrong results");
}
BENCHMARK(ForkPipesMap)
    ->Name(
        "process pool 20k x*x, 2 workers, Map/fork + pipes, chunked like "
        "Pool.map")
    ->Iterations(kTasks)
    ->UseRealTime();

}  // namespace
