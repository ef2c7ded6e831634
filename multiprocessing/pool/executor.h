// ProcessPoolExecutor: Python's concurrent.futures.ProcessPoolExecutor for
// C++, returning the same Future as the thread pool.
//
//   with ProcessPoolExecutor(max_workers=2) as pool:
//       f = pool.submit(fn, 1, 2)
//       for r in pool.map(fn, xs, chunksize=64): ...
//   ->
//   ProcessPoolExecutor pool({.max_workers = 2});
//   absl::StatusOr<Future<R>> f = pool.Submit(&fn, 1, 2);
//   for (absl::StatusOr<R> r : pool.Map(&fn, xs, {.chunksize = 64})) ...
//   // ~ProcessPoolExecutor() is shutdown(wait=True), as leaving `with`.
//
// The function is a plain function (or captureless lambda) and its arguments
// and result are serialized with cereal, as Python pickles them: the workers
// are other processes (started by the fork server, so a program that runs
// threads can use a pool safely; see
// multiprocessing/process/internal/fork_server.h).
//
// Outcomes, as in Python: an exception in the worker reaches Result() as a
// RemoteError whose what() is the worker's "type: message". Arguments that
// cannot be serialized fail the call's Future with
// multiprocessing::internal::PicklingError (Submit() itself succeeds, as
// Python's submit() does). A worker that dies (killed, crashed, exited)
// breaks the pool: the calls that had finished keep their results, every
// other Future fails with BrokenProcessPool (its message names the dead
// worker's pid and exit code or signal) and every later Submit() answers
// Unavailable "BrokenProcessPool: ..." (never a hang). max_tasks_per_child
// replaces a worker after that many calls. Result bytes that do not decode
// fail that Future with a RemoteError naming pickle.UnpicklingError.
//
// Results stream back: each call's Future completes the moment its call
// returns in the worker, whatever else that worker has in hand, so Wait(
// kFirstCompleted) and AsCompleted() see it at once. Map() with a chunksize
// sends each chunk as one call (Python's), so a chunk's results arrive
// together.
//
// Large arguments and results (over 1 MiB serialized) cross in shared memory
// (a memfd whose descriptor goes over the worker's socket), not through the
// socket: each side copies the bytes once, and each process keeps a couple of
// these files, mapped, for its next large messages, so a 64 MiB round trip
// allocates and maps no shared memory after the first. Arguments a function
// takes by value are moved into it. Small results come back through a pipe
// of the worker's own.
//
// Running() and Cancel(): each worker is sent calls ahead, so that it goes
// from one call to the next without waiting for the parent: up to 256 when
// its recent calls took microseconds, as many as make about a millisecond of
// its work otherwise, and at least two (the one it runs and the next). The
// bound keeps a slow call from holding much work behind it on one worker
// while another idles, which Python's shared call queue never does.
// A call sent ahead is still pending: the worker claims it in memory shared
// with the parent just before it runs it, and Cancel() takes it back just as
// atomically, so exactly one of the two wins. A call is Running() from the
// moment its worker claims it; until then Cancel() succeeds and the call
// never runs (the worker skips it). So with one busy worker and ten calls
// queued, one is running and ten are cancellable; Python reports the
// max_workers + 1 calls in its call queue running (2 running, 8 cancellable)
// though they have not started: pyconc tells the truth, and every call
// Python lets you cancel, pyconc does too. Shutdown({.cancel_futures = true})
// stops every call not yet started, queued or sent ahead: none of them will
// run. The queued ones are cancelled before it returns; those sent ahead are
// cancelled by the manager thread moments later (as Python's manager thread
// cancels its pending calls), so Wait() for them first. A Map() chunk goes
// only to a worker with fewer than two calls in hand and is running once
// sent (as in Python's call queue); the chunks behind it are pending. A call
// sent ahead to a worker that dies fails with BrokenProcessPool, as Python
// fails the calls of a broken pool. Idle workers are given calls first, then
// the least loaded.

// Running out: when the pool cannot start (no descriptor, process or thread
// left), every Submit() and Map() answers that OSError (e.g.
// kResourceExhausted "OSError: [Errno 24] Too many open files: ..."), as
// Python's constructor or submit() raises it; a worker that reached
// max_tasks_per_child and cannot be replaced breaks the pool, naming why.
//
// Where C++ differs: the workers start when the executor is made (Python 3.9+
// starts them on demand); Submit() after Shutdown() answers FailedPrecondition
// "RuntimeError: cannot schedule new futures after shutdown" instead of
// raising. Shutdown({.wait = true}) from a done callback (which runs on the
// pool's manager thread, as in Python) stops the pool without waiting and
// throws std::runtime_error "RuntimeError: cannot join current thread", which
// the Future logs as Python logs its callback's exception.
//
// Thread-safety: every member function may be called from any thread. Results
// are published by one manager thread, which also runs done-callbacks.
// Fork-safety: workers come from the fork server; building the first executor
// (or process) starts it, which must happen while the program has one thread
// (else call pyconc::multiprocessing::StartForkServer() at the top of main).

#ifndef PYCONC_MULTIPROCESSING_POOL_EXECUTOR_H_
#define PYCONC_MULTIPROCESSING_POOL_EXECUTOR_H_

#include <sys/types.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "base/errors.h"
#include "base/misuse.h"
#include "multiprocessing/process/internal/serialize.h"
#include "multiprocessing/process/process.h"
#include "threading/pool/executor.h"
#include "threading/pool/future.h"
#include "threading/pool/map_results.h"

namespace pyconc::futures {

// Python's concurrent.futures.process.BrokenProcessPool.
class BrokenProcessPool : public BrokenExecutor {
 public:
  explicit BrokenProcessPool(const std::string& message)
      : BrokenExecutor("BrokenProcessPool: " + message) {}
};

// An exception raised by the call in a worker process. Its type cannot cross,
// so what() names it: "std::invalid_argument: bad input" (Python re-raises the
// unpickled exception with the worker's traceback attached).
class RemoteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace internal {

// An initializer and its arguments, serialized once and sent to every worker
// (again to each replacement), descriptors of Connections and Queues included.
struct InitCall {
  multiprocessing::internal::ChildEntry entry = nullptr;
  std::string payload;
  std::shared_ptr<multiprocessing::internal::FdTable> fds;

  template <typename Archive>
  void save(Archive& archive) const {
    std::vector<int> indexes;
    if (fds != nullptr) {
      for (const auto& fd : fds->fds) {
        indexes.push_back(multiprocessing::internal::ExportFd(fd.get()));
      }
    }
    archive(reinterpret_cast<uint64_t>(entry), payload, indexes);
  }
  template <typename Archive>
  void load(Archive& archive) {
    uint64_t address = 0;
    std::vector<int> indexes;
    archive(address, payload, indexes);
    entry = reinterpret_cast<multiprocessing::internal::ChildEntry>(address);
    fds = std::make_shared<multiprocessing::internal::FdTable>();
    for (int index : indexes) {
      fds->fds.push_back(multiprocessing::internal::ImportFd(index));
    }
  }
};

}  // namespace internal

// Python's initializer=f with initargs=(...): what every worker runs before
// its first call. The arguments are serialized when it is made; Connections
// and Queues among them arrive in each worker as working ends.
//
//   ProcessPoolExecutor(initializer=init, initargs=(q, 1))
//   -> ProcessPoolExecutor pool({.initializer = {&Init, q, 1}});
class Initializer {
 public:
  // No initializer (Python's None).
  Initializer() = default;
  Initializer(std::nullptr_t) {}  // NOLINT: as Python's initializer=None.
  // `fn(initargs...)` in every worker; a plain function or a captureless
  // lambda, as for Process.
  template <typename F, typename... Args>
  requires multiprocessing::internal::TargetFor<F, std::decay_t<Args>...>
  Initializer(F fn, const Args&... initargs)  // NOLINT: reads as Python's.
  {
    call_.entry =
        &multiprocessing::internal::RunTarget<F, std::decay_t<Args>...>;
    call_.fds = std::make_shared<multiprocessing::internal::FdTable>();
    if constexpr (std::is_pointer_v<F>) {
      call_.payload = multiprocessing::internal::Serialize(
          call_.fds.get(), reinterpret_cast<uint64_t>(fn), initargs...);
    } else {
      call_.payload =
          multiprocessing::internal::Serialize(call_.fds.get(), initargs...);
    }
  }

  // For the executor: the serialized call.
  const internal::InitCall& call() const { return call_; }

 private:
  internal::InitCall call_;
};

// The keyword arguments of Python's ProcessPoolExecutor().
struct ProcessPoolOptions {
  // Unset: the processors this process may run on (Python's
  // os.process_cpu_count(), which honours CPU affinity). Zero or less is
  // misuse (ValueError).
  std::optional<int> max_workers;
  // Runs first in every worker (Python's initializer and initargs). If it
  // throws, the worker dies and the pool is broken.
  Initializer initializer;
  // A worker exits after this many calls and a new one replaces it; 0 keeps
  // workers for ever.
  int max_tasks_per_child = 0;
};

// The keyword arguments of Python's ProcessPoolExecutor.map().
struct ProcessMapOptions {
  // Inputs per message to a worker: large chunks make tiny calls cheap. Less
  // than 1 is misuse (ValueError), as in Python.
  int chunksize = 1;
  // Counted from the call to Map(); InfiniteDuration() is Python's None.
  absl::Duration timeout = absl::InfiniteDuration();
  // Python 3.14's buffersize, counted in chunks as Python counts it: Map()
  // sends that many, and one more each time the range starts a chunk. Unset:
  // every chunk at once. Less than 1 is misuse. See MapOptions for what must
  // outlive the range.
  std::optional<int> buffersize;
};

namespace internal {

// What a worker runs for one message: decodes the call from `payload`, runs
// it, answers the encoded result. Throws what the call throws.
using CallEntry =
    multiprocessing::internal::Message (*)(std::string_view payload);

// One call (or one chunk of a Map) waiting in the parent for its outcome.
class PendingCall {
 public:
  PendingCall(CallEntry entry, multiprocessing::internal::Message payload)
      : entry_(entry), payload_(std::move(payload)) {}
  virtual ~PendingCall() = default;

  CallEntry entry() const { return entry_; }
  const multiprocessing::internal::Message& payload() const { return payload_; }

  // A Map() chunk: sent only to a worker with fewer than two calls in hand,
  // and started when sent (as Python's call queue holds it).
  virtual bool chunk() const = 0;
  // Before sending a call that is not a chunk: gives each Future `hook`, the
  // call's claim in the worker's memory; false when every Future was
  // cancelled (do not send).
  virtual bool Attach(std::shared_ptr<StartHook> hook) = 0;
  // The call started (or will never reach a worker and is about to fail):
  // marks the Futures it completes running, once; false when all were
  // cancelled.
  virtual bool Start() = 0;
  // Cancels the Futures: Shutdown(cancel_futures), or a call stopped before
  // it started.
  virtual void Cancel() = 0;
  // The call's encoded result, or what failed.
  virtual void Finish(std::string_view result) = 0;
  // Takes `error` by value and moves it into the last Future, so that the
  // manager holds no reference once the Futures are done (the last one is
  // then dropped by a Future's owner, in order with its reads).
  virtual void Fail(std::exception_ptr error) = 0;

 private:
  const CallEntry entry_;
  const multiprocessing::internal::Message payload_;
};

// A plain function or a captureless lambda, as for Process.
template <typename F>
concept PoolFunction = multiprocessing::internal::StatelessTarget<F>;

// Encodes the function (its address, for a pointer) in front of the values.
template <typename F, typename... Values>
multiprocessing::internal::Message EncodeCall(F fn, const Values&... values) {
  if constexpr (std::is_pointer_v<F>) {
    return multiprocessing::internal::SerializeMessage(
        reinterpret_cast<uint64_t>(fn), values...);
  } else {
    return multiprocessing::internal::SerializeMessage(values...);
  }
}

// Decodes the function and fills `values`.
template <typename F, typename... Values>
F DecodeCall(std::string_view payload, Values&... values) {
  if constexpr (std::is_pointer_v<F>) {
    uint64_t address = 0;
    multiprocessing::internal::Deserialize(payload, nullptr, address,
                                           values...);
    return reinterpret_cast<F>(address);
  } else {
    multiprocessing::internal::Deserialize(payload, nullptr, values...);
    return F{};
  }
}

template <typename R>
using Stored = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

// The worker side of Submit(fn, args...).
template <typename F, typename R, typename... Args>
multiprocessing::internal::Message RunCall(std::string_view payload) {
  std::tuple<Args...> args;
  F fn = std::apply(
      [&](Args&... values) { return DecodeCall<F>(payload, values...); }, args);
  // The arguments are the call's own, as in Python: moved into a function
  // that takes them by value (a 64 MiB string is not copied again).
  auto call = [&]() -> decltype(auto) {
    if constexpr (std::is_invocable_v<F&, Args&&...> &&
                  std::is_same_v<std::invoke_result_t<F&, Args&&...>, R>) {
      return std::apply(fn, std::move(args));
    } else {
      return std::apply(fn, args);
    }
  };
  if constexpr (std::is_void_v<R>) {
    call();
    return multiprocessing::internal::Message();
  } else {
    return multiprocessing::internal::SerializeMessage(call());
  }
}

// An element of a Map() chunk: the input itself for one range, a tuple of
// fn's arguments for several; and what fn returns for it in the worker.
template <typename... Ranges>
struct ChunkInput {
  using type = std::tuple<ElementOf<Ranges>...>;
  template <typename F>
  using Result = std::invoke_result_t<F&, ElementOf<Ranges>&...>;
};
template <typename Range>
struct ChunkInput<Range> {
  using type = ElementOf<Range>;
  template <typename F>
  using Result = std::invoke_result_t<F&, ElementOf<Range>&>;
};

// The worker side of one chunk of Map(fn, inputs...): every result, in order
// (for a void fn, how many calls returned). With kSpread each input is a
// tuple of fn's arguments.
template <typename F, typename R, typename Input, bool kSpread>
multiprocessing::internal::Message RunChunk(std::string_view payload) {
  std::vector<Input> inputs;
  F fn = DecodeCall<F>(payload, inputs);
  auto call = [&fn](Input& input) -> decltype(auto) {
    if constexpr (kSpread) {
      return std::apply(fn, input);
    } else {
      return fn(input);
    }
  };
  if constexpr (std::is_void_v<R>) {
    for (Input& input : inputs) call(input);
    return multiprocessing::internal::SerializeMessage(
        static_cast<uint64_t>(inputs.size()));
  } else {
    std::vector<R> results;
    results.reserve(inputs.size());
    for (Input& input : inputs) results.push_back(call(input));
    return multiprocessing::internal::SerializeMessage(results);
  }
}

template <typename R>
void SetDecoded(const Future<R>& future, Stored<R>&& value) {
  if constexpr (std::is_void_v<R>) {
    future.SetResult();
  } else {
    future.SetResult(std::move(value));
  }
}

std::exception_ptr UnpicklingError(const std::exception& e);

// The Futures of `futures` that Attach() and Start() found not cancelled.
template <typename R>
class CallOfFutures : public PendingCall {
 public:
  CallOfFutures(CallEntry entry, multiprocessing::internal::Message payload,
                absl::Span<const Future<R>> futures, bool chunk)
      : PendingCall(entry, std::move(payload)),
        futures_(futures.begin(), futures.end()),
        live_(futures_.size(), true),
        chunk_(chunk) {}

  bool Attach(std::shared_ptr<StartHook> hook) override {
    bool any = false;
    for (size_t i = 0; i < futures_.size(); ++i) {
      live_[i] = live_[i] && futures_[i].core()->SetStartHook(hook);
      any = any || live_[i];
    }
    return any;
  }
  bool chunk() const override { return chunk_; }
  bool Start() override {
    bool any = false;
    for (size_t i = 0; i < futures_.size(); ++i) {
      live_[i] =
          live_[i] && (started_ || futures_[i].SetRunningOrNotifyCancel());
      any = any || live_[i];
    }
    started_ = true;
    return any;
  }
  void Cancel() override {
    for (const Future<R>& future : futures_) future.Cancel();
  }
  void Finish(std::string_view result) override {
    // Decoded into locals first (std::vector<bool> has no bool& to load into).
    Stored<R> value{};
    std::vector<Stored<R>> values;
    try {
      if (!chunk_) {
        if constexpr (!std::is_void_v<R>) {
          multiprocessing::internal::Deserialize(result, nullptr, value);
        }
      } else if constexpr (std::is_void_v<R>) {
        uint64_t count = 0;
        multiprocessing::internal::Deserialize(result, nullptr, count);
        values.resize(std::min<uint64_t>(count, futures_.size() + 1));
      } else {
        multiprocessing::internal::Deserialize(result, nullptr, values);
      }
      if (chunk_ && values.size() != futures_.size()) {
        throw std::length_error(absl::StrCat(values.size(), " results for ",
                                             futures_.size(), " calls"));
      }
    } catch (const std::exception& e) {
      Fail(UnpicklingError(e));
      return;
    }
    if (!chunk_) {
      if (live_[0]) SetDecoded<R>(futures_[0], std::move(value));
      return;
    }
    for (size_t i = 0; i < futures_.size(); ++i) {
      if (live_[i]) SetDecoded<R>(futures_[i], std::move(values[i]));
    }
  }
  void Fail(std::exception_ptr error) override {
    size_t last = futures_.size();
    for (size_t i = 0; i < futures_.size(); ++i) {
      if (live_[i]) last = i;
    }
    for (size_t i = 0; i < futures_.size(); ++i) {
      if (!live_[i]) continue;
      futures_[i].SetException(i == last ? std::move(error) : error);
    }
  }

 private:
  // Inline for Submit()'s one Future.
  absl::InlinedVector<Future<R>, 1> futures_;
  absl::InlinedVector<bool, 1> live_;  // Not cancelled: completed by this call.
  const bool chunk_;
  bool started_ = false;  // Start() has marked the Futures.
};

class PoolCore;

}  // namespace internal

// Python's concurrent.futures.ProcessPoolExecutor. See the top of this file.
class ProcessPoolExecutor {
 public:
  explicit ProcessPoolExecutor(ProcessPoolOptions options = {});
  ProcessPoolExecutor(const ProcessPoolExecutor&) = delete;
  ProcessPoolExecutor& operator=(const ProcessPoolExecutor&) = delete;
  // Shutdown({.wait = true}), as leaving Python's `with` block.
  ~ProcessPoolExecutor();

  // Python's submit(fn, *args): schedules fn(args...) in a worker and returns
  // its Future. The arguments are serialized now. After Shutdown():
  // FailedPrecondition "RuntimeError: ..."; broken: Unavailable
  // "BrokenProcessPool: ...".
  template <typename F, typename... Args>
  requires internal::PoolFunction<F> && std::invocable < F&, std::decay_t<Args>
  &... >
      absl::StatusOr<Future<std::invoke_result_t<F&, std::decay_t<Args>&...>>>
      Submit(F fn, const Args&... args) {
    using R = std::invoke_result_t<F&, std::decay_t<Args>&...>;
    Future<R> future;
    multiprocessing::internal::Message payload;
    try {
      payload = internal::EncodeCall(fn, args...);
    } catch (const std::exception& e) {
      future.SetRunningOrNotifyCancel();
      future.SetException(std::make_exception_ptr(
          multiprocessing::internal::PicklingError(e.what())));
      return future;
    }
    auto call = std::make_unique<internal::CallOfFutures<R>>(
        &internal::RunCall<F, R, std::decay_t<Args>...>, std::move(payload),
        absl::MakeConstSpan(&future, 1), /*chunk=*/false);
    if (absl::Status status = Enqueue(std::move(call)); !status.ok()) {
      return status;
    }
    return future;
  }

  // Python's map(fn, *iterables, timeout, chunksize, buffersize): fn(x, y,
  // ...) for the elements of the ranges in lockstep, ending with the shortest
  // (as zip()), sent in chunks of `chunksize` calls; the results in input
  // order. An exception fails every call of its chunk; the range rethrows it
  // when its item is reached. With `buffersize`, only that many chunks are
  // sent ahead of the reader (Python 3.14; see MapOptions). At the timeout
  // the last item is DeadlineExceeded "TimeoutError" and the unfinished calls
  // are cancelled. The options come last:
  //   pool.Map(&fn, xs, {.chunksize = 64})
  //   pool.Map(&fn, xs, ys, ProcessMapOptions{.buffersize = 4})
  template <typename F, typename Range>
  auto Map(F fn, Range&& inputs, ProcessMapOptions options = {}) {
    return Chunked</*kUnordered=*/false>(options, fn,
                                         std::forward<Range>(inputs));
  }
  template <typename F, typename Range1, typename Range2, typename... More>
  requires(!std::is_same_v<std::decay_t<Range2>, ProcessMapOptions>) auto Map(
      F fn, Range1&& first, Range2&& second, More&&... more) {
    return internal::WithTrailingOptions<ProcessMapOptions>(
        [&](const ProcessMapOptions& options, auto&&... ranges) {
          return Chunked</*kUnordered=*/false>(
              options, fn, std::forward<decltype(ranges)>(ranges)...);
        },
        std::forward<Range1>(first), std::forward<Range2>(second),
        std::forward<More>(more)...);
  }

  // Python's Pool.imap_unordered(fn, iterable, chunksize): as Map(), every
  // chunk sent at once, but the results come in the order the chunks finish
  // (a chunk's together, in input order), so a slow call holds back only its
  // own chunk. buffersize is misuse here (imap_unordered has none). Options
  // last, as for Map().
  template <typename F, typename... Args>
  auto MapUnordered(F fn, Args&&... args) {
    return internal::WithTrailingOptions<ProcessMapOptions>(
        [&](const ProcessMapOptions& options, auto&&... ranges) {
          return Chunked</*kUnordered=*/true>(
              options, fn, std::forward<decltype(ranges)>(ranges)...);
        },
        std::forward<Args>(args)...);
  }

  // Python's shutdown(wait, cancel_futures): refuses new calls; with
  // cancel_futures cancels those not yet started (see the top of this file);
  // with wait, returns
  // once every call has finished and the workers have exited. Calling it
  // again is harmless.
  void Shutdown(ShutdownOptions options = {});

  // Python 3.14's terminate_workers() and kill_workers(): Shutdown({.wait =
  // false, .cancel_futures = true}), then SIGTERM (SIGKILL) to every worker
  // still alive. The calls they were running fail with BrokenProcessPool.
  void TerminateWorkers();
  void KillWorkers();

  // Python's _max_workers.
  int max_workers() const;
  // The workers' pids (Python's _processes), e.g. to watch or kill one.
  std::vector<pid_t> WorkerPids() const;

 private:
  absl::Status Enqueue(std::unique_ptr<internal::PendingCall> call);

  // Map() (or MapUnordered()) over the zipped ranges. One input is sent as
  // itself, several as a tuple spread into fn's arguments.
  template <bool kUnordered, typename F, typename... Ranges>
  requires internal::PoolFunction<F>
  auto Chunked(const ProcessMapOptions& options, F fn, Ranges&&... inputs) {
    using Zip = decltype(internal::Zip(std::forward<Ranges>(inputs)...));
    constexpr bool kSpread = sizeof...(Ranges) > 1;
    using Input = typename internal::ChunkInput<Ranges...>::type;
    using R = typename internal::ChunkInput<Ranges...>::template Result<F>;
    const absl::Time deadline = absl::Now() + options.timeout;
    if (options.chunksize < 1) {
      pyconc::internal::Misuse("ValueError", "chunksize must be >= 1.");
    }
    internal::NextChunk<R> next_chunk =
        [this, fn, chunksize = static_cast<size_t>(options.chunksize),
         zip = std::make_shared<Zip>(std::forward<Ranges>(inputs)...)]()
        -> std::optional<absl::StatusOr<std::vector<Future<R>>>> {
      if (zip->Done()) return std::nullopt;
      std::vector<Input> chunk;
      while (chunk.size() < chunksize && !zip->Done()) {
        chunk.push_back(
            zip->Take([](const auto&... args) { return Input(args...); }));
      }
      std::vector<Future<R>> futures(chunk.size());
      if (absl::Status status = SendChunk<R, kSpread>(fn, chunk, futures);
          !status.ok()) {
        return status;
      }
      return futures;
    };
    if constexpr (kUnordered) {
      if (options.buffersize.has_value()) {
        pyconc::internal::Misuse("ValueError",
                                 "MapUnordered() takes no buffersize");
      }
      return MapUnorderedResults<R>::Start(std::move(next_chunk), deadline);
    } else {
      return MapResults<R>::Start(std::move(next_chunk), deadline,
                                  options.buffersize);
    }
  }

  // Sends fn over `chunk` as one call completing `futures`; inputs that
  // cannot be serialized fail the Futures with PicklingError (as Submit()).
  template <typename R, bool kSpread, typename F, typename Input>
  absl::Status SendChunk(F fn, const std::vector<Input>& chunk,
                         const std::vector<Future<R>>& futures) {
    multiprocessing::internal::Message payload;
    try {
      payload = internal::EncodeCall(fn, chunk);
    } catch (const std::exception& e) {
      const std::exception_ptr error = std::make_exception_ptr(
          multiprocessing::internal::PicklingError(e.what()));
      for (const Future<R>& f : futures) {
        f.SetRunningOrNotifyCancel();
        f.SetException(error);
      }
      return absl::OkStatus();
    }
    return Enqueue(std::make_unique<internal::CallOfFutures<R>>(
        &internal::RunChunk<F, R, Input, kSpread>, std::move(payload), futures,
        /*chunk=*/true));
  }

  std::shared_ptr<internal::PoolCore> core_;
};

}  // namespace pyconc::futures

#endif  // PYCONC_MULTIPROCESSING_POOL_EXECUTOR_H_
