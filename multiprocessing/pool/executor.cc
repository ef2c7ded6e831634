#include "multiprocessing/pool/executor.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "multiprocessing/process/connection.h"
#include "threading/thread/thread.h"
#include "base/misuse.h"

namespace pyconc::futures {
namespace internal {

using multiprocessing::Connection;
using multiprocessing::Process;

std::exception_ptr UnpicklingError(const std::exception& e) {
  return std::make_exception_ptr(
      RemoteError(absl::StrCat("pickle.UnpicklingError: ", e.what())));
}

namespace {

// Calls in flight per worker: enough to hide the round trips behind work
// when calls are tiny, few enough that cancelling still reaches the rest.
constexpr size_t kMaxInFlight = 128;

// The messages between the manager and a worker are runs of records:
//   to a worker:   id (u64), entry (u64), size (u64), payload
//   from a worker: id (u64), ok (u64), size (u64), result or error text
// An empty message to a worker tells it to exit.
void AppendRecord(std::string* out, uint64_t a, uint64_t b,
                  std::string_view bytes) {
  const uint64_t header[3] = {a, b, bytes.size()};
  out->append(reinterpret_cast<const char*>(header), sizeof(header));
  out->append(bytes);
}

// Reads the next record from `in`; false at its end (or if it is cut short).
bool NextRecord(std::string_view* in, uint64_t* a, uint64_t* b,
                std::string_view* bytes) {
  uint64_t header[3];
  if (in->size() < sizeof(header)) return false;
  std::memcpy(header, in->data(), sizeof(header));
  in->remove_prefix(sizeof(header));
  if (in->size() < header[2]) return false;
  *a = header[0];
  *b = header[1];
  *bytes = in->substr(0, header[2]);
  in->remove_prefix(header[2]);
  return true;
}

// What each worker process runs: calls in, results out, until told to stop,
// the parent goes away, or it has run `max_tasks` calls.
void WorkerMain(Connection conn, int max_tasks, uint64_t initializer) {
  if (initializer != 0) reinterpret_cast<void (*)()>(initializer)();
  int done = 0;
  while (true) {
    absl::StatusOr<std::string> message = conn.RecvBytes();
    if (!message.ok() || message->empty()) return;
    std::string results;
    std::string_view in = *message;
    uint64_t id, entry;
    std::string_view payload;
    while (NextRecord(&in, &id, &entry, &payload)) {
      try {
        const std::string result = reinterpret_cast<CallEntry>(entry)(payload);
        AppendRecord(&results, id, 1, result);
      } catch (...) {
        AppendRecord(&results, id, 0,
                     threading::DescribeException(std::current_exception()));
      }
      ++done;
    }
    if (!conn.SendBytes(results).ok()) return;
    if (max_tasks > 0 && done >= max_tasks) return;
  }
}

}  // namespace

// Everything the executor shares with its manager thread.
class PoolCore {
 public:
  PoolCore(int max_workers, void (*initializer)(), int max_tasks_per_child)
      : max_workers_(max_workers),
        initializer_(initializer),
        max_tasks_per_child_(max_tasks_per_child),
        wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    multiprocessing::StartForkServer();
    for (int i = 0; i < max_workers_; ++i) StartWorker();
    manager_ = std::thread([this] { Manage(); });
  }

  ~PoolCore() { ::close(wake_fd_); }

  int max_workers() const { return max_workers_; }

  std::vector<pid_t> WorkerPids() const {
    absl::MutexLock lock(&mu_);
    return pids_;
  }

  absl::Status Enqueue(std::unique_ptr<PendingCall> call) {
    bool wake;
    {
      absl::MutexLock lock(&mu_);
      if (broken_) {
        return absl::UnavailableError(
            absl::StrCat("BrokenProcessPool: ", broken_reason_));
      }
      if (shutdown_) {
        return absl::FailedPreconditionError(
            "RuntimeError: cannot schedule new futures after shutdown");
      }
      wake = queue_.empty();
      queue_.push_back(std::move(call));
    }
    // The manager takes the whole queue each round: only the first call of a
    // burst needs to wake it.
    if (wake) Wake();
    return absl::OkStatus();
  }

  void Shutdown(ShutdownOptions options) {
    std::deque<std::unique_ptr<PendingCall>> cancelled;
    {
      absl::MutexLock lock(&mu_);
      shutdown_ = true;
      if (options.cancel_futures) cancelled.swap(queue_);
    }
    for (const auto& call : cancelled) call->Cancel();
    Wake();
    if (options.wait) JoinManager();
  }

  void JoinManager() {
    absl::MutexLock lock(&join_mu_);
    if (manager_.joinable()) manager_.join();
  }

 private:
  struct Worker {
    std::unique_ptr<Process> process;
    Connection conn;
    // Calls sent and not yet answered, by id.
    std::vector<std::pair<uint64_t, std::unique_ptr<PendingCall>>> in_flight;
    int sent = 0;  // Calls ever sent, for max_tasks_per_child.
  };

  void Wake() {
    const uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
  }

  void StartWorker() {
    auto [parent, child] = multiprocessing::Pipe();
    Worker worker;
    worker.process = std::make_unique<Process>(
        multiprocessing::ProcessOptions{.daemon = true}, &WorkerMain, child,
        max_tasks_per_child_, reinterpret_cast<uint64_t>(initializer_));
    worker.process->Start();
    worker.conn = std::move(parent);
    {
      absl::MutexLock lock(&mu_);
      pids_.push_back(worker.process->pid());
    }
    workers_.push_back(std::move(worker));
  }

  bool Retiring(const Worker& worker) const {
    return max_tasks_per_child_ > 0 && worker.sent >= max_tasks_per_child_;
  }

  // Sends the queued calls to the workers with room, spread evenly.
  void Dispatch() {
    std::deque<std::unique_ptr<PendingCall>> calls;
    {
      absl::MutexLock lock(&mu_);
      calls.swap(queue_);
    }
    while (!calls.empty()) {
      size_t room = 0;
      for (const Worker& w : workers_) {
        if (!Retiring(w))
          room += kMaxInFlight - std::min(kMaxInFlight, w.in_flight.size());
      }
      if (room == 0) break;
      const size_t share =
          (calls.size() + workers_.size() - 1) / workers_.size();
      for (Worker& w : workers_) {
        std::string message;
        size_t take = std::min(
            share, kMaxInFlight - std::min(kMaxInFlight, w.in_flight.size()));
        if (max_tasks_per_child_ > 0) {
          take = std::min<size_t>(
              take,
              max_tasks_per_child_ - std::min(w.sent, max_tasks_per_child_));
        }
        while (take > 0 && !calls.empty()) {
          std::unique_ptr<PendingCall> call = std::move(calls.front());
          calls.pop_front();
          if (!call->Start()) continue;  // Every Future was cancelled.
          const uint64_t id = next_id_++;
          AppendRecord(&message, id, reinterpret_cast<uint64_t>(call->entry()),
                       call->payload());
          w.in_flight.emplace_back(id, std::move(call));
          ++w.sent;
          --take;
        }
        if (!message.empty()) (void)w.conn.SendBytes(message);
      }
    }
    if (!calls.empty()) {
      // No room now: back to the front of the queue, in order.
      absl::MutexLock lock(&mu_);
      while (!calls.empty()) {
        queue_.push_front(std::move(calls.back()));
        calls.pop_back();
      }
    }
  }

  // A worker answered: completes the Futures of its calls.
  void Collect(Worker& worker, std::string_view in) {
    uint64_t id, ok;
    std::string_view bytes;
    while (NextRecord(&in, &id, &ok, &bytes)) {
      auto it =
          std::find_if(worker.in_flight.begin(), worker.in_flight.end(),
                       [id](const auto& entry) { return entry.first == id; });
      if (it == worker.in_flight.end()) continue;
      std::unique_ptr<PendingCall> call = std::move(it->second);
      worker.in_flight.erase(it);
      if (ok != 0) {
        call->Finish(bytes);
      } else {
        call->Fail(std::make_exception_ptr(RemoteError(std::string(bytes))));
      }
    }
  }

  // A worker ended unexpectedly: Python's "terminated abruptly". Every call in
  // flight or queued fails; the other workers are stopped.
  void Break(const std::string& reason) {
    std::deque<std::unique_ptr<PendingCall>> queued;
    {
      absl::MutexLock lock(&mu_);
      broken_ = true;
      broken_reason_ = reason;
      queued.swap(queue_);
    }
    const std::exception_ptr error =
        std::make_exception_ptr(BrokenProcessPool(reason));
    for (Worker& w : workers_) {
      for (auto& [id, call] : w.in_flight) call->Fail(error);
      w.in_flight.clear();
      w.process->Kill();
    }
    for (auto& call : queued) {
      if (call->Start()) call->Fail(error);
    }
  }

  bool Idle() const {
    for (const Worker& w : workers_) {
      if (!w.in_flight.empty()) return false;
    }
    absl::MutexLock lock(&mu_);
    return queue_.empty();
  }

  void Manage() {
    std::vector<pollfd> fds;
    while (true) {
      bool shutdown, broken;
      {
        absl::MutexLock lock(&mu_);
        shutdown = shutdown_;
        broken = broken_;
      }
      if (broken || (shutdown && Idle())) break;
      fds.assign(1, {.fd = wake_fd_, .events = POLLIN, .revents = 0});
      for (const Worker& w : workers_) {
        fds.push_back({.fd = w.conn.fileno(), .events = POLLIN, .revents = 0});
      }
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;  // EINTR
      if (fds[0].revents != 0) {
        uint64_t count;
        (void)!::read(wake_fd_, &count, sizeof(count));
      }
      for (size_t i = 0; i < workers_.size(); ++i) {
        if (fds[i + 1].revents == 0) continue;
        Worker& w = workers_[i];
        absl::StatusOr<std::string> message = w.conn.RecvBytes();
        if (message.ok()) {
          Collect(w, *message);
          continue;
        }
        // EOF: the worker exited. Expected only from a retiring worker whose
        // calls have all been answered.
        w.process->Join();
        if (Retiring(w) && w.in_flight.empty() && w.process->ExitCode() == 0) {
          ReplaceWorker(i);
          continue;
        }
        Break(absl::StrCat(
            "A process in the process pool was terminated abruptly while the "
            "future was running or pending (pid ",
            w.process->pid(), ", exit code ", w.process->ExitCode().value_or(0),
            ")."));
        break;
      }
      {
        absl::MutexLock lock(&mu_);
        if (broken_) continue;
      }
      Dispatch();
    }
    // Workers leave on an empty message (or have been killed); collect them.
    for (Worker& w : workers_) {
      if (!w.conn.closed()) (void)w.conn.SendBytes("");
    }
    for (Worker& w : workers_) w.process->Join();
  }

  void ReplaceWorker(size_t index) {
    const pid_t old_pid = workers_[index].process->pid();
    workers_.erase(workers_.begin() + static_cast<ptrdiff_t>(index));
    {
      absl::MutexLock lock(&mu_);
      pids_.erase(std::remove(pids_.begin(), pids_.end(), old_pid),
                  pids_.end());
    }
    StartWorker();
  }

  const int max_workers_;
  void (*const initializer_)();
  const int max_tasks_per_child_;
  const int wake_fd_;

  // The manager thread's own.
  std::vector<Worker> workers_;
  uint64_t next_id_ = 1;
  std::thread manager_;

  absl::Mutex join_mu_;
  mutable absl::Mutex mu_;
  std::deque<std::unique_ptr<PendingCall>> queue_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  std::string broken_reason_ ABSL_GUARDED_BY(mu_);
  std::vector<pid_t> pids_ ABSL_GUARDED_BY(mu_);
};

}  // namespace internal

ProcessPoolExecutor::ProcessPoolExecutor(ProcessPoolOptions options) {
  const int max_workers =
      options.max_workers.value_or(multiprocessing::CpuCount());
  if (max_workers <= 0) {
    pyconc::internal::Misuse("ValueError",
                             "max_workers must be greater than 0");
  }
  core_ = std::make_shared<internal::PoolCore>(max_workers, options.initializer,
                                               options.max_tasks_per_child);
}

ProcessPoolExecutor::~ProcessPoolExecutor() { Shutdown({.wait = true}); }

void ProcessPoolExecutor::Shutdown(ShutdownOptions options) {
  core_->Shutdown(options);
}

int ProcessPoolExecutor::max_workers() const { return core_->max_workers(); }

std::vector<pid_t> ProcessPoolExecutor::WorkerPids() const {
  return core_->WorkerPids();
}

absl::Status ProcessPoolExecutor::Enqueue(
    std::unique_ptr<internal::PendingCall> call) {
  return core_->Enqueue(std::move(call));
}

}  // namespace pyconc::futures
