// MpiPoolExecutor: mpi4py.futures.MPIPoolExecutor for C++, on OpenMPI: the
// interface of concurrent.futures with workers that may run on other hosts,
// returning the thread pool's Future.
//
//   from mpi4py.futures import MPIPoolExecutor
//   with MPIPoolExecutor() as pool:
//       f = pool.submit(square, 7)
//       for r in pool.map(square, xs, chunksize=64): ...
//   ->
//   int64_t Square(int64_t x) { return x * x; }
//   const auto kSquare = RegisterMpiTask("square", &Square);  // namespace
//   scope int main(int argc, char** argv) {
//     pyconc::futures::MpiInit(&argc, &argv);  // workers serve in here
//     MpiPoolExecutor pool;
//     absl::StatusOr<Future<int64_t>> f = pool.Submit(kSquare, 7);
//     for (absl::StatusOr<int64_t> r : pool.Map(kSquare, xs, {.chunksize =
//     64}))
//   }
//
// Tasks are named: a function pointer means nothing on another host, so every
// process registers the same functions under the same names, once, before
// main (RegisterMpiTask at namespace scope), as Python workers import the
// pickled function by its qualified name. A call names its task and its
// signature; a worker that has no task of that name answers a RemoteError
// "LookupError: ...", one registered with another signature "TypeError: ...".
// Arguments and results are serialized as the process pool does (cereal).
//
// The two ways mpi4py.futures starts, chosen by how the program was run:
// - World mode, `mpirun -np 5 ./prog`: rank 0 runs main; MpiInit() never
//   returns in ranks 1..4, which serve the executors of rank 0 (one executor
//   at a time: a second one waits until the first has shut down) and exit
//   when rank 0's main returns.
// - Spawn mode, `./prog` started alone: each executor starts max_workers
//   workers with MPI_Comm_spawn (this program again, unless options.command
//   names another), which serve it alone and exit at its Shutdown().
//
// Outcomes: an exception in a worker reaches Result() as a RemoteError whose
// what() is the worker's "type: message". A worker that crashes takes the
// whole MPI job down: OpenMPI (as Debian builds it) has no fault tolerance,
// so mpirun kills every rank, rank 0 included, and prints which rank died;
// there is no BrokenProcessPool to catch. Spawning that fails (no slots, the
// command does not exist) makes the executor broken: Submit() answers
// Unavailable "BrokenExecutor: ...".
//
// Where C++ differs from mpi4py: tasks are registered by name (above); the
// workers start when the executor is made; Submit() after Shutdown() answers
// FailedPrecondition "RuntimeError: cannot schedule new futures after
// shutdown" instead of raising. Up to max_in_flight calls are sent ahead to
// each worker (mpi4py sends one); a call sent is running and can no longer be
// cancelled. Waiting for MPI messages is polling (MPI has no descriptor to
// sleep on): MPI_Improbe with a backoff that grows to 1 ms, as mpi4py's
// MPI4PY_FUTURES_BACKOFF; an executor with nothing in flight does not poll.
//
// Thread-safety: MpiInit() once, from main, before any thread starts (MPI is
// initialized for MPI_THREAD_MULTIPLE). Every member function may be called
// from any thread. Results are published by one manager thread per executor,
// which also runs done-callbacks. Executors must be destroyed before main
// returns (MPI is finalized at exit).

#ifndef PYCONC_MULTIPROCESSING_MPI_EXECUTOR_H_
#define PYCONC_MULTIPROCESSING_MPI_EXECUTOR_H_

#include <algorithm>
#include <concepts>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "multiprocessing/mpi/internal/pickle.h"
#include "threading/pool/executor.h"
#include "threading/pool/future.h"
#include "threading/pool/map_results.h"

namespace pyconc::futures {

// Initializes MPI (MPI_Init_thread with MPI_THREAD_MULTIPLE). Call it first
// in main, before any thread starts, in every program that uses
// MpiPoolExecutor. In a worker (rank 1.. of a world, or a process spawned by
// an executor) it serves tasks until told to stop, then exits the process
// with status 0, never returning; in rank 0, or a program started alone, it
// returns, and MPI is finalized when main returns. Calling it twice is misuse.
// `argc` and `argv` may be null (a library that starts MPI on first use); the
// workers it spawns then get no arguments.
void MpiInit(int* argc, char*** argv);

// Whether this program runs in world mode (started by mpirun with more than
// one rank), where the executors' workers are the other ranks.
bool MpiWorldMode();

// The keyword arguments of mpi4py's MPIPoolExecutor().
struct MpiPoolOptions {
  // How many workers. Spawn mode: how many to start; unset, MPI's universe
  // size less one (the slots that mpirun or the hostfile offer), at least 1.
  // World mode: the first max_workers of the other ranks; unset, all of them.
  // Zero or less is misuse (ValueError).
  std::optional<int> max_workers;
  // Spawn mode: the program the workers run and its arguments (mpi4py's
  // python_exe and python_args). Empty: this program, with the arguments it
  // was started with.
  std::string command;
  std::vector<std::string> args;
  // Calls sent ahead to each worker: many make tiny calls cheap (one message
  // carries them all), 1 balances long calls best and keeps every call not
  // yet running cancellable, as mpi4py does. Less than 1 is misuse.
  int max_in_flight = 128;
};

// The keyword arguments of MPIPoolExecutor.map().
struct MpiMapOptions {
  // Inputs per message to a worker: large chunks make tiny calls cheap.
  int chunksize = 1;
  // Counted from the call to Map(); InfiniteDuration() is Python's None.
  absl::Duration timeout = absl::InfiniteDuration();
};

template <typename Signature>
class MpiTask;

namespace internal::mpi {

template <typename R>
using Stored = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

// What a worker runs for one record: decodes the arguments from `payload`,
// calls `fn` (the registered function, cast back to its type), answers the
// encoded result. Throws what the call throws.
using Entry = std::string (*)(void (*fn)(), std::string_view payload);

// Adds a task to this process's registry; a name registered twice is misuse.
void Register(std::string name, const char* signature, void (*fn)(), Entry call,
              Entry chunk);

// The worker side of Submit(task, args...).
template <typename R, typename... Params>
std::string RunCall(void (*fn)(), std::string_view payload) {
  std::tuple<std::decay_t<Params>...> args;
  std::apply([&](auto&... values) { Unpickle(payload, values...); }, args);
  const auto function = reinterpret_cast<R (*)(Params...)>(fn);
  if constexpr (std::is_void_v<R>) {
    std::apply(function, args);
    return std::string();
  } else {
    return Pickle(std::apply(function, args));
  }
}

// The worker side of one chunk of Map(task, inputs): every result, in order.
template <typename R, typename Param>
std::string RunChunk(void (*fn)(), std::string_view payload) {
  std::vector<std::decay_t<Param>> inputs;
  Unpickle(payload, inputs);
  const auto function = reinterpret_cast<R (*)(Param)>(fn);
  std::vector<Stored<R>> results;
  results.reserve(inputs.size());
  for (auto&& input : inputs) {
    if constexpr (std::is_void_v<R>) {
      function(input);
      results.emplace_back();
    } else {
      results.push_back(function(input));
    }
  }
  return Pickle(results);
}

// One call (or one chunk of a Map) in rank 0, waiting for its outcome.
class Call {
 public:
  Call(const std::string& task, const char* signature, bool chunk,
       std::string payload)
      : task_(task),
        signature_(signature),
        chunk_(chunk),
        payload_(std::move(payload)) {}
  virtual ~Call() = default;

  const std::string& task() const { return task_; }
  std::string_view signature() const { return signature_; }
  bool chunk() const { return chunk_; }
  const std::string& payload() const { return payload_; }

  // Before sending: marks the Futures running; false when all were cancelled.
  virtual bool Start() = 0;
  // Shutdown(cancel_futures): cancels the Futures.
  virtual void Cancel() = 0;
  // The encoded result (a vector of results for a chunk), or what failed.
  virtual void Finish(std::string_view result) = 0;
  virtual void Fail(const std::exception_ptr& error) = 0;

 private:
  const std::string task_;
  const char* const signature_;
  const bool chunk_;
  const std::string payload_;
};

// Fails a call whose result bytes do not decode.
std::exception_ptr UnpicklingError(const std::exception& e);

// The Futures of one call or chunk; those Start() found cancelled stay so.
template <typename R>
class FuturesCall : public Call {
 public:
  FuturesCall(const std::string& task, const char* signature, bool chunk,
              std::string payload, std::vector<Future<R>> futures)
      : Call(task, signature, chunk, std::move(payload)),
        futures_(std::move(futures)),
        running_(futures_.size(), 0) {}

  bool Start() override {
    bool any = false;
    for (size_t i = 0; i < futures_.size(); ++i) {
      running_[i] = futures_[i].SetRunningOrNotifyCancel();
      any = any || running_[i];
    }
    return any;
  }
  void Cancel() override {
    for (const Future<R>& future : futures_) future.Cancel();
  }
  void Finish(std::string_view result) override {
    // Decoded into locals (std::vector<bool> has no bool& to decode into).
    std::vector<Stored<R>> values;
    Stored<R> value{};
    try {
      if (chunk()) {
        Unpickle(result, values);
      } else if constexpr (!std::is_void_v<R>) {
        Unpickle(result, value);
      }
    } catch (const std::exception& e) {
      Fail(UnpicklingError(e));
      return;
    }
    if (!chunk()) {
      if (running_[0]) Set(futures_[0], std::move(value));
      return;
    }
    for (size_t i = 0; i < futures_.size() && i < values.size(); ++i) {
      if (running_[i]) Set(futures_[i], static_cast<Stored<R>>(values[i]));
    }
  }
  void Fail(const std::exception_ptr& error) override {
    for (size_t i = 0; i < futures_.size(); ++i) {
      if (running_[i]) futures_[i].SetException(error);
    }
  }

 private:
  static void Set(const Future<R>& future, Stored<R> value) {
    if constexpr (std::is_void_v<R>) {
      future.SetResult();
    } else {
      future.SetResult(std::move(value));
    }
  }

  std::vector<Future<R>> futures_;
  std::vector<char> running_;
};

class PoolCore;

}  // namespace internal::mpi

// A task the workers can run: a function registered under a name in every
// process. Cheap to copy; only the name travels.
template <typename R, typename... Params>
class MpiTask<R(Params...)> {
 public:
  // Names a task registered elsewhere, e.g. only in the workers' program
  // (MpiPoolOptions::command); the signature must be the one registered
  // there, else calls fail with RemoteError "TypeError: ...".
  explicit MpiTask(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  // The signature every call carries, for the worker to check.
  static const char* signature() { return typeid(R(Params...)).name(); }

 private:
  std::string name_;
};

// Registers `fn` as the task `name` in this process and returns its handle.
// Call it at namespace scope (so that every rank and every spawned worker has
// registered it before main runs); a name registered twice is misuse
// (ValueError). A captureless lambda registers as `+[](int x) { ... }`.
template <typename R, typename... Params>
MpiTask<R(Params...)> RegisterMpiTask(std::string name, R (*fn)(Params...)) {
  internal::mpi::Entry chunk = nullptr;
  if constexpr (sizeof...(Params) == 1) {
    chunk = &internal::mpi::RunChunk<R, Params...>;
  }
  internal::mpi::Register(name, MpiTask<R(Params...)>::signature(),
                          reinterpret_cast<void (*)()>(fn),
                          &internal::mpi::RunCall<R, Params...>, chunk);
  return MpiTask<R(Params...)>(std::move(name));
}

// mpi4py.futures.MPIPoolExecutor. See the top of this file.
class MpiPoolExecutor {
 public:
  explicit MpiPoolExecutor(MpiPoolOptions options = {});
  MpiPoolExecutor(const MpiPoolExecutor&) = delete;
  MpiPoolExecutor& operator=(const MpiPoolExecutor&) = delete;
  // Shutdown({.wait = true}), as leaving Python's `with` block.
  ~MpiPoolExecutor();

  // Python's submit(fn, *args): schedules task(args...) on a worker and
  // returns its Future. The arguments are serialized now. After Shutdown():
  // FailedPrecondition "RuntimeError: ..."; broken: Unavailable
  // "BrokenExecutor: ..."; arguments over MPI's 2 GiB message: InvalidArgument
  // "ValueError: ...".
  template <typename R, typename... Params, typename... Args>
  requires(sizeof...(Args) == sizeof...(Params)) &&
      (std::convertible_to<const Args&, std::decay_t<Params>> &&
       ...) absl::StatusOr<Future<R>> Submit(const MpiTask<R(Params...)>& task,
                                             const Args&... args) {
    Future<R> future;
    absl::Status status =
        Enqueue(std::make_unique<internal::mpi::FuturesCall<R>>(
            task.name(), task.signature(), /*chunk=*/false,
            internal::mpi::Pickle(static_cast<std::decay_t<Params>>(args)...),
            std::vector<Future<R>>{future}));
    if (!status.ok()) return status;
    return future;
  }

  // Python's map(fn, inputs, timeout, chunksize): task(input) for every
  // input, sent in chunks of `chunksize`; the results in input order. An
  // exception fails every call of its chunk; the range rethrows it when its
  // item is reached. At the timeout the last item is DeadlineExceeded
  // "TimeoutError" and the unfinished calls are cancelled. One iterable only.
  template <typename R, typename Param, typename Range>
  MapResults<R> Map(const MpiTask<R(Param)>& task, const Range& inputs,
                    MpiMapOptions options = {}) {
    using Input = std::decay_t<Param>;
    const absl::Time deadline = absl::Now() + options.timeout;
    const size_t chunksize =
        static_cast<size_t>(std::max(options.chunksize, 1));
    std::vector<Future<R>> futures;
    std::vector<Input> chunk;
    std::vector<Future<R>> chunk_futures;
    auto flush = [&]() -> absl::Status {
      if (chunk.empty()) return absl::OkStatus();
      absl::Status status =
          Enqueue(std::make_unique<internal::mpi::FuturesCall<R>>(
              task.name(), task.signature(), /*chunk=*/true,
              internal::mpi::Pickle(chunk), std::move(chunk_futures)));
      chunk.clear();
      chunk_futures.clear();
      return status;
    };
    absl::Status status;
    for (const auto& input : inputs) {
      chunk.push_back(static_cast<Input>(input));
      chunk_futures.emplace_back();
      futures.push_back(chunk_futures.back());
      if (chunk.size() == chunksize) {
        status = flush();
        if (!status.ok()) break;
      }
    }
    if (status.ok()) status = flush();
    if (!status.ok()) {
      for (const Future<R>& future : futures) future.Cancel();
      return MapResults<R>(status);
    }
    return MapResults<R>(std::move(futures), deadline);
  }

  // Python's shutdown(wait, cancel_futures): refuses new calls; with
  // cancel_futures cancels those not yet sent to a worker; with wait, returns
  // once every call has finished (and spawned workers have exited). Calling
  // it again is harmless.
  void Shutdown(ShutdownOptions options = {});

  // How many workers serve this executor (Python's _max_workers).
  int max_workers() const;
  // The MPI world ranks (world mode) or the ranks in the spawned group
  // (spawn mode) of the workers, in order.
  std::vector<int> WorkerRanks() const;

 private:
  absl::Status Enqueue(std::unique_ptr<internal::mpi::Call> call);

  std::shared_ptr<internal::mpi::PoolCore> core_;
};

}  // namespace pyconc::futures

#endif  // PYCONC_MULTIPROCESSING_MPI_EXECUTOR_H_
