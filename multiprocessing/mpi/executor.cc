#include "multiprocessing/mpi/executor.h"

#include <mpi.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/errors.h"
#include "base/misuse.h"
#include "threading/thread/thread.h"

namespace pyconc::futures {
namespace internal::mpi {
namespace {

// Message tags between rank 0 and a worker.
constexpr int kTagCalls = 1;    // Records of calls, to a worker.
constexpr int kTagResults = 2;  // Records of outcomes, to rank 0.
constexpr int kTagExit = 3;     // Empty: the worker stops serving.

// The largest message MPI can count in an int, less room for headers.
constexpr size_t kMaxMessage = INT_MAX - 4096;
// Messages up to this size travel at once (OpenMPI's eager limits are
// smaller); a larger one needs its sender to keep calling into MPI.
constexpr size_t kEagerBytes = size_t{64} << 10;
// A batch of calls or results is sent once it holds this much.
constexpr size_t kBatchBytes = size_t{4} << 20;

// The messages are runs of records, each a header of u64 fields then bytes:
//   to a worker: id, chunk, task size, signature size, payload size;
//                task, signature, payload
//   to rank 0:   id, ok, size; result or error text
template <size_t N>
void AppendRecord(std::string* out, const uint64_t (&header)[N],
                  std::initializer_list<std::string_view> parts) {
  out->append(reinterpret_cast<const char*>(header), sizeof(header));
  for (std::string_view part : parts) out->append(part);
}

// Reads the next record's header and parts from `in`; false at its end (or if
// it is cut short). The last N_PARTS header fields are the parts' sizes.
template <size_t N, size_t kParts>
bool NextRecord(std::string_view* in, uint64_t (&header)[N],
                std::string_view (&parts)[kParts]) {
  if (in->size() < sizeof(header)) return false;
  std::memcpy(header, in->data(), sizeof(header));
  in->remove_prefix(sizeof(header));
  for (size_t i = 0; i < kParts; ++i) {
    const uint64_t size = header[N - kParts + i];
    if (in->size() < size) return false;
    parts[i] = in->substr(0, size);
    in->remove_prefix(size);
  }
  return true;
}

struct Task {
  std::string signature;
  void (*fn)();
  Entry call;
  Entry chunk;
};

struct Registry {
  absl::Mutex mu;
  std::map<std::string, Task, std::less<>> tasks ABSL_GUARDED_BY(mu);
};

Registry& GetRegistry() {
  static Registry* const registry = new Registry;
  return *registry;
}

// What MpiInit() learned, fixed before any executor exists.
struct Environment {
  bool initialized = false;
  int world_size = 1;
  // The world, duplicated so that pyconc's messages never meet the program's.
  MPI_Comm world = MPI_COMM_NULL;
  // This program's arguments after argv[0], for the workers it spawns.
  std::vector<std::string> args;
};

Environment& GetEnvironment() {
  static Environment* const environment = new Environment;
  return *environment;
}

// World mode: the other ranks serve one executor at a time.
struct WorldSlot {
  absl::Mutex mu;
  bool busy ABSL_GUARDED_BY(mu) = false;
};

WorldSlot& GetWorldSlot() {
  static WorldSlot* const slot = new WorldSlot;
  return *slot;
}

std::string MpiErrorText(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, static_cast<size_t>(length));
}

// Waits for a message from `source` on `comm` by polling, backing off from
// spinning to 1 ms sleeps (MPI has nothing to block on without spinning).
void ProbeWithBackoff(MPI_Comm comm, int source, MPI_Message* message,
                      MPI_Status* status) {
  absl::Duration pause = absl::Microseconds(1);
  for (int spins = 0;; ++spins) {
    int found = 0;
    MPI_Improbe(source, MPI_ANY_TAG, comm, &found, message, status);
    if (found) return;
    if (spins < 100) continue;
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(1));
  }
}

// Receives the message `probe` found into `buffer`.
void ReceiveProbed(MPI_Message* message, const MPI_Status& status,
                   std::string* buffer) {
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  buffer->resize(static_cast<size_t>(count));
  MPI_Mrecv(buffer->data(), count, MPI_BYTE, message, MPI_STATUS_IGNORE);
}

// Runs one call record in a worker; appends its outcome record to `out`.
void RunRecord(uint64_t id, bool chunk, std::string_view name,
               std::string_view signature, std::string_view payload,
               std::string* out) {
  std::string error;
  std::string result;
  Task task;
  bool found = false;
  {
    Registry& registry = GetRegistry();
    absl::MutexLock lock(&registry.mu);
    auto it = registry.tasks.find(name);
    if (it != registry.tasks.end()) {
      task = it->second;
      found = true;
    }
  }
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (!found) {
    error = absl::StrCat("LookupError: no MPI task named '", name,
                         "' is registered in worker rank ", rank,
                         " (register it with RegisterMpiTask at namespace "
                         "scope, so that every process has it)");
  } else if (task.signature != signature || (chunk && task.chunk == nullptr)) {
    error = absl::StrCat("TypeError: MPI task '", name,
                         "' is registered with another signature in worker "
                         "rank ",
                         rank);
  } else {
    try {
      result = (chunk ? task.chunk : task.call)(task.fn, payload);
      if (result.size() > kMaxMessage) {
        error = absl::StrCat("OverflowError: a result of ", result.size(),
                             " bytes exceeds MPI's 2 GiB message");
      }
    } catch (...) {
      error = threading::DescribeException(std::current_exception());
    }
  }
  const bool ok = error.empty();
  const std::string_view bytes = ok ? std::string_view(result) : error;
  AppendRecord(out, {id, uint64_t{ok}, bytes.size()}, {bytes});
}

void SendBytes(const std::string& bytes, int destination, int tag,
               MPI_Comm comm) {
  MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, destination,
           tag, comm);
}

// A worker's life: batches of calls from rank 0 of `comm` (the world, or the
// spawning parent), outcomes back, until told to exit.
void Serve(MPI_Comm comm) {
  std::string in;
  std::string out;
  while (true) {
    MPI_Message message;
    MPI_Status status;
    ProbeWithBackoff(comm, 0, &message, &status);
    ReceiveProbed(&message, status, &in);
    if (status.MPI_TAG == kTagExit) return;
    std::string_view records = in;
    uint64_t header[5];
    std::string_view parts[3];
    while (NextRecord(&records, header, parts)) {
      RunRecord(header[0], header[1] != 0, parts[0], parts[1], parts[2], &out);
      if (out.size() >= kBatchBytes) {
        SendBytes(out, 0, kTagResults, comm);
        out.clear();
      }
    }
    if (!out.empty()) SendBytes(out, 0, kTagResults, comm);
    out.clear();
  }
}

// At exit of rank 0: the world's workers stop, and MPI ends.
void FinalizeMpi() {
  Environment& env = GetEnvironment();
  for (int rank = 1; rank < env.world_size; ++rank) {
    SendBytes(std::string(), rank, kTagExit, env.world);
  }
  MPI_Comm_free(&env.world);
  MPI_Finalize();
}

}  // namespace

void Register(std::string name, const char* signature, void (*fn)(), Entry call,
              Entry chunk) {
  Registry& registry = GetRegistry();
  absl::MutexLock lock(&registry.mu);
  const bool added = registry.tasks
                         .emplace(name, Task{.signature = signature,
                                             .fn = fn,
                                             .call = call,
                                             .chunk = chunk})
                         .second;
  if (!added) {
    pyconc::internal::Misuse(
        "ValueError",
        absl::StrCat("MPI task '", name, "' is registered twice"));
  }
}

std::exception_ptr UnpicklingError(const std::exception& e) {
  return std::make_exception_ptr(
      RemoteError(absl::StrCat("pickle.UnpicklingError: ", e.what())));
}

// Everything an executor shares with its manager thread, which alone talks
// MPI once the workers exist.
class PoolCore {
 public:
  // Workers that could not start: every Submit() answers `broken`.
  explicit PoolCore(std::string broken) : broken_(std::move(broken)) {}

  // Serves `ranks` of `comm`; `spawned` workers are told to exit at the end
  // and the intercommunicator is disconnected; else the world slot is freed.
  PoolCore(MPI_Comm comm, std::vector<int> ranks, bool spawned,
           int max_in_flight)
      : comm_(comm),
        ranks_(std::move(ranks)),
        spawned_(spawned),
        max_in_flight_(static_cast<size_t>(max_in_flight)) {
    for (int rank : ranks_) workers_.push_back(Worker{.rank = rank});
    manager_ = std::thread([this] { Manage(); });
  }

  ~PoolCore() { Join(); }

  int max_workers() const { return static_cast<int>(ranks_.size()); }
  const std::vector<int>& ranks() const { return ranks_; }

  absl::Status Enqueue(std::unique_ptr<Call> call) {
    if (!broken_.empty())
      return MakeError(PythonError::kBrokenExecutor, broken_);
    if (call->payload().size() + call->task().size() > kMaxMessage) {
      return MakeError(PythonError::kValueError,
                       absl::StrCat("arguments of ", call->payload().size(),
                                    " bytes exceed MPI's 2 GiB message"));
    }
    absl::MutexLock lock(&mu_);
    if (shutdown_) {
      return MakeError(PythonError::kRuntimeError,
                       "cannot schedule new futures after shutdown");
    }
    queue_.push_back(std::move(call));
    wake_ = true;
    return absl::OkStatus();
  }

  void Shutdown(ShutdownOptions options) {
    std::deque<std::unique_ptr<Call>> cancelled;
    {
      absl::MutexLock lock(&mu_);
      shutdown_ = true;
      wake_ = true;
      if (options.cancel_futures) cancelled.swap(queue_);
    }
    for (const auto& call : cancelled) call->Cancel();
    if (options.wait) Join();
  }

 private:
  struct Worker {
    int rank;
    // Calls sent and not yet answered, by id.
    std::vector<std::pair<uint64_t, std::unique_ptr<Call>>> in_flight;
  };
  // A message being sent; the buffer lives until MPI is done with it.
  struct Send {
    std::string bytes;
    MPI_Request request = MPI_REQUEST_NULL;
  };

  void Join() {
    absl::MutexLock lock(&join_mu_);
    if (manager_.joinable()) manager_.join();
  }

  // Sends queued calls to the workers with room, spread evenly; true if it
  // took any from the queue (sent, or dropped as cancelled).
  bool Dispatch() {
    bool took = false;
    size_t with_room = 0;
    for (const Worker& w : workers_) {
      if (w.in_flight.size() < max_in_flight_) ++with_room;
    }
    for (Worker& w : workers_) {
      if (w.in_flight.size() >= max_in_flight_) continue;
      std::vector<std::unique_ptr<Call>> calls;
      {
        absl::MutexLock lock(&mu_);
        const size_t share = (queue_.size() + with_room - 1) / with_room;
        size_t take = std::min(share, max_in_flight_ - w.in_flight.size());
        size_t bytes = 0;
        while (take-- > 0 && !queue_.empty() && bytes < kBatchBytes) {
          bytes += queue_.front()->payload().size();
          calls.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      --with_room;
      if (calls.empty()) continue;
      took = true;
      Send& send = sends_.emplace_back();
      for (std::unique_ptr<Call>& call : calls) {
        if (!call->Start()) continue;  // Every Future was cancelled.
        const uint64_t id = next_id_++;
        AppendRecord(&send.bytes,
                     {id, uint64_t{call->chunk()}, call->task().size(),
                      call->signature().size(), call->payload().size()},
                     {call->task(), call->signature(), call->payload()});
        w.in_flight.emplace_back(id, std::move(call));
      }
      if (send.bytes.empty()) {
        sends_.pop_back();
        continue;
      }
      MPI_Isend(send.bytes.data(), static_cast<int>(send.bytes.size()),
                MPI_BYTE, w.rank, kTagCalls, comm_, &send.request);
    }
    return took;
  }

  // Frees the buffers of finished sends; true if one finished.
  bool PollSends() {
    bool finished = false;
    for (auto it = sends_.begin(); it != sends_.end();) {
      int done = 0;
      MPI_Test(&it->request, &done, MPI_STATUS_IGNORE);
      if (done) {
        it = sends_.erase(it);
        finished = true;
      } else {
        ++it;
      }
    }
    return finished;
  }

  // Completes the Futures of every outcome that has arrived; true if any did.
  bool PollResults() {
    bool any = false;
    while (true) {
      int found = 0;
      MPI_Message message;
      MPI_Status status;
      MPI_Improbe(MPI_ANY_SOURCE, kTagResults, comm_, &found, &message,
                  &status);
      if (!found) return any;
      any = true;
      ReceiveProbed(&message, status, &buffer_);
      for (Worker& w : workers_) {
        if (w.rank == status.MPI_SOURCE) Collect(w, buffer_);
      }
    }
  }

  void Collect(Worker& worker, std::string_view in) {
    uint64_t header[3];
    std::string_view parts[1];
    while (NextRecord(&in, header, parts)) {
      const uint64_t id = header[0];
      auto it =
          std::find_if(worker.in_flight.begin(), worker.in_flight.end(),
                       [id](const auto& entry) { return entry.first == id; });
      if (it == worker.in_flight.end()) continue;
      std::unique_ptr<Call> call = std::move(it->second);
      worker.in_flight.erase(it);
      if (header[1] != 0) {
        call->Finish(parts[0]);
      } else {
        call->Fail(std::make_exception_ptr(RemoteError(std::string(parts[0]))));
      }
    }
  }

  // Nothing queued, sent or running.
  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!queue_.empty() || !sends_.empty()) return false;
    for (const Worker& w : workers_) {
      if (!w.in_flight.empty()) return false;
    }
    return true;
  }

  void Manage() {
    absl::Duration backoff = absl::ZeroDuration();
    while (true) {
      bool progress = Dispatch();
      progress = PollSends() || progress;
      progress = PollResults() || progress;
      if (progress) backoff = absl::ZeroDuration();
      absl::MutexLock lock(&mu_);
      if (shutdown_ && Idle()) break;
      if (progress) continue;
      // Waiting for MPI means polling; waiting for new calls needs none.
      bool waiting_on_mpi = !sends_.empty();
      for (const Worker& w : workers_) {
        waiting_on_mpi = waiting_on_mpi || !w.in_flight.empty();
      }
      // A large message moves only while its sender drives MPI (a fragment
      // per call): while one is on its way, poll without sleeping.
      bool large_send = false;
      for (const Send& send : sends_) {
        large_send = large_send || send.bytes.size() > kEagerBytes;
      }
      if (!waiting_on_mpi) {
        mu_.Await(absl::Condition(&wake_));
      } else if (large_send) {
        mu_.Unlock();
        std::this_thread::yield();
        mu_.Lock();
      } else {
        mu_.AwaitWithTimeout(absl::Condition(&wake_), backoff);
        backoff = std::clamp(backoff * 2, absl::Microseconds(1),
                             absl::Milliseconds(1));
      }
      wake_ = false;
    }
    if (spawned_) {
      for (const Worker& w : workers_) {
        SendBytes(std::string(), w.rank, kTagExit, comm_);
      }
      MPI_Comm_disconnect(&comm_);
    } else {
      WorldSlot& slot = GetWorldSlot();
      absl::MutexLock lock(&slot.mu);
      slot.busy = false;
    }
  }

  const std::string broken_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  const std::vector<int> ranks_;
  const bool spawned_ = false;
  const size_t max_in_flight_ = 1;

  // The manager thread's own.
  std::vector<Worker> workers_;
  std::list<Send> sends_;
  std::string buffer_;
  uint64_t next_id_ = 1;

  std::thread manager_;
  absl::Mutex join_mu_;
  absl::Mutex mu_;
  std::deque<std::unique_ptr<Call>> queue_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  // Set by Enqueue() and Shutdown() to wake the manager.
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
};

namespace {

// Starts `count` workers running `command` with `args`; the executor, or a
// broken one saying why not.
std::shared_ptr<PoolCore> SpawnPool(int count, std::string command,
                                    const std::vector<std::string>& args,
                                    int max_in_flight) {
  if (command.empty()) {
    char path[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (n <= 0) {
      return std::make_shared<PoolCore>("cannot find this program to spawn");
    }
    command.assign(path, static_cast<size_t>(n));
  }
  std::vector<char*> argv;
  for (const std::string& arg : args)
    argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  // A program started alone owns one slot; its workers may outnumber the
  // cores, as a ProcessPoolExecutor's may (mpirun's --oversubscribe).
  MPI_Info info;
  MPI_Info_create(&info);
  MPI_Info_set(info, "map_by", "slot:OVERSUBSCRIBE");
  MPI_Comm workers = MPI_COMM_NULL;
  std::vector<int> errors(static_cast<size_t>(count), MPI_SUCCESS);
  const int code = MPI_Comm_spawn(command.c_str(), argv.data(), count, info, 0,
                                  MPI_COMM_SELF, &workers, errors.data());
  MPI_Info_free(&info);
  if (code != MPI_SUCCESS) {
    return std::make_shared<PoolCore>(
        absl::StrCat("cannot spawn ", count, " MPI workers running ", command,
                     ": ", MpiErrorText(code)));
  }
  std::vector<int> ranks;
  for (int rank = 0; rank < count; ++rank) ranks.push_back(rank);
  return std::make_shared<PoolCore>(workers, std::move(ranks),
                                    /*spawned=*/true, max_in_flight);
}

}  // namespace
}  // namespace internal::mpi

void MpiInit(int* argc, char*** argv) {
  using internal::mpi::GetEnvironment;
  internal::mpi::Environment& env = GetEnvironment();
  if (env.initialized) {
    pyconc::internal::Misuse("RuntimeError", "MpiInit() called twice");
  }
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);
  if (provided < MPI_THREAD_MULTIPLE) {
    pyconc::internal::Misuse(
        "RuntimeError",
        "this MPI library does not support MPI_THREAD_MULTIPLE, which the "
        "MPI pool needs");
  }
  env.initialized = true;
  // Spawning that fails answers an error code instead of aborting the job.
  MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
  MPI_Comm parent = MPI_COMM_NULL;
  MPI_Comm_get_parent(&parent);
  if (parent != MPI_COMM_NULL) {
    internal::mpi::Serve(parent);
    MPI_Comm_disconnect(&parent);
    MPI_Finalize();
    std::exit(0);
  }
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &env.world_size);
  MPI_Comm_dup(MPI_COMM_WORLD, &env.world);
  if (rank != 0) {
    internal::mpi::Serve(env.world);
    MPI_Comm_free(&env.world);
    MPI_Finalize();
    std::exit(0);
  }
  if (argc != nullptr && argv != nullptr) {
    for (int i = 1; i < *argc; ++i) env.args.emplace_back((*argv)[i]);
  }
  std::atexit(&internal::mpi::FinalizeMpi);
}

bool MpiWorldMode() { return internal::mpi::GetEnvironment().world_size > 1; }

MpiPoolExecutor::MpiPoolExecutor(MpiPoolOptions options) {
  const internal::mpi::Environment& env = internal::mpi::GetEnvironment();
  if (!env.initialized) {
    pyconc::internal::Misuse(
        "RuntimeError",
        "MpiPoolExecutor needs pyconc::futures::MpiInit(&argc, &argv) at the "
        "top of main");
  }
  if (options.max_workers.has_value() && *options.max_workers <= 0) {
    pyconc::internal::Misuse("ValueError",
                             "max_workers must be greater than 0");
  }
  if (options.max_in_flight < 1) {
    pyconc::internal::Misuse("ValueError",
                             "max_in_flight must be greater than 0");
  }
  if (MpiWorldMode()) {
    const int count = std::min(options.max_workers.value_or(env.world_size - 1),
                               env.world_size - 1);
    internal::mpi::WorldSlot& slot = internal::mpi::GetWorldSlot();
    {
      absl::MutexLock lock(&slot.mu);
      slot.mu.Await(absl::Condition(
          +[](bool* busy) { return !*busy; }, &slot.busy));
      slot.busy = true;
    }
    std::vector<int> ranks;
    for (int rank = 1; rank <= count; ++rank) ranks.push_back(rank);
    core_ = std::make_shared<internal::mpi::PoolCore>(
        env.world, std::move(ranks), /*spawned=*/false, options.max_in_flight);
    return;
  }
  int count = 1;
  if (options.max_workers.has_value()) {
    count = *options.max_workers;
  } else {
    int* universe = nullptr;
    int found = 0;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_UNIVERSE_SIZE, &universe, &found);
    if (found && universe != nullptr && *universe > 1) count = *universe - 1;
  }
  core_ = internal::mpi::SpawnPool(
      count, options.command, options.command.empty() ? env.args : options.args,
      options.max_in_flight);
}

MpiPoolExecutor::~MpiPoolExecutor() { Shutdown({.wait = true}); }

void MpiPoolExecutor::Shutdown(ShutdownOptions options) {
  core_->Shutdown(options);
}

int MpiPoolExecutor::max_workers() const { return core_->max_workers(); }

std::vector<int> MpiPoolExecutor::WorkerRanks() const { return core_->ranks(); }

absl::Status MpiPoolExecutor::Enqueue(
    std::unique_ptr<internal::mpi::Call> call) {
  return core_->Enqueue(std::move(call));
}

}  // namespace pyconc::futures
