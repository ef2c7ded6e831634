#include "threading/pool/executor.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/errors.h"
#include "base/misuse.h"
#include "base/spin_wait.h"
#include "base/trace.h"

namespace pyconc::futures {

namespace {

constexpr char kShutdownMessage[] =
    "cannot schedule new futures after shutdown";
constexpr char kBrokenMessage[] =
    "A thread initializer failed, the thread pool is not usable anymore";

int DefaultMaxWorkers() {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::min(32, std::max(cores, 1) + 4);
}

int CheckedMaxWorkers(std::optional<int> max_workers) {
  if (!max_workers.has_value()) return DefaultMaxWorkers();
  if (*max_workers <= 0) {
    pyconc::internal::Misuse("ValueError",
                             "max_workers must be greater than 0");
  }
  return *max_workers;
}

std::string DefaultPrefix() {
  static std::atomic<int> counter{0};
  return absl::StrCat("ThreadPoolExecutor-",
                      counter.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace

namespace internal {

void CheckBuffersize(const std::optional<int>& buffersize) {
  if (buffersize.has_value() && *buffersize < 1) {
    pyconc::internal::Misuse("ValueError", "buffersize must be None or > 0");
  }
}

}  // namespace internal

ThreadPoolExecutor::ThreadPoolExecutor(ThreadPoolOptions options)
    : max_workers_(CheckedMaxWorkers(options.max_workers)),
      thread_name_prefix_(options.thread_name_prefix.empty()
                              ? DefaultPrefix()
                              : std::move(options.thread_name_prefix)),
      initializer_(std::move(options.initializer)) {}

ThreadPoolExecutor::~ThreadPoolExecutor() { Shutdown({.wait = true}); }

absl::Status ThreadPoolExecutor::Enqueue(internal::WorkItem* item) {
  trace::Slice slice("pool", "Submit");
  // A Submit() is "in flight" from here until its call is queued and a worker
  // is on the way; Shutdown() and a failing initializer wait for it, so that
  // no call is queued after the workers stop looking.
  const uint64_t gate = gate_.fetch_add(kOneSubmit, std::memory_order_seq_cst);
  struct Leave {
    ThreadPoolExecutor* self;
    ~Leave() {
      const uint64_t left =
          self->gate_.fetch_sub(kOneSubmit, std::memory_order_seq_cst);
      // A worker may be waiting for the last Submit() to leave, to exit.
      if ((left & (kShutdownBit | kBrokenBit)) != 0) self->WakeOneIfSleeping();
    }
  } leave{this};
  if ((gate & (kBrokenBit | kShutdownBit)) != 0) {
    item->Abandon(nullptr);
    return (gate & kBrokenBit) != 0
               ? MakeError(PythonError::kBrokenExecutor, kBrokenMessage)
               : MakeError(PythonError::kRuntimeError, kShutdownMessage);
  }
  if (trace::Enabled()) {
    item->trace_flow = trace::NewId();
    trace::FlowBegin("pool", item->trace_flow);
  }
  queue_.Push(item);
  if (num_threads_.load(std::memory_order_acquire) < max_workers_) {
    return AdjustThreadCount();
  }
  WakeOneIfSleeping();
  return absl::OkStatus();
}

void ThreadPoolExecutor::WakeOneIfSleeping() {
  if (sleepers_.load(std::memory_order_seq_cst) == 0) return;
  absl::MutexLock lock(&mu_);
  if (sleepers_.load(std::memory_order_relaxed) == 0) return;
  // Claim the sleeper, so the next Submit() does not signal it again.
  sleepers_.fetch_sub(1, std::memory_order_relaxed);
  ++wake_tokens_;
  work_available_.Signal();
}

absl::Status ThreadPoolExecutor::AdjustThreadCount() {
  absl::MutexLock lock(&mu_);
  // An idle worker takes the call; otherwise start one, if there is room.
  if (idle_tokens_ > 0) {
    --idle_tokens_;
  } else if (static_cast<int>(threads_.size()) < max_workers_) {
    // Even after Shutdown(): this call was queued before it, and it may be the
    // first, with no worker yet to run it.
    threads_.emplace_back(
        threading::ThreadOptions{
            .name = absl::StrCat(thread_name_prefix_, "_", threads_.size()),
            .daemon = true},
        [this] { WorkerMain(); });
    if (absl::Status status = threads_.back().Start(); !status.ok()) {
      threads_.pop_back();
      return status;
    }
    num_threads_.store(static_cast<int>(threads_.size()),
                       std::memory_order_release);
  }
  if (sleepers_.load(std::memory_order_relaxed) > 0) {
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    ++wake_tokens_;
    work_available_.Signal();
  }
  return absl::OkStatus();
}

void ThreadPoolExecutor::WorkerMain() {
  if (initializer_) {
    try {
      initializer_();
    } catch (...) {
      threading::ExceptHook(
          {std::current_exception(), threading::CurrentThread()});
      InitializerFailed();
      return;
    }
  }
  while (internal::WorkItem* item = NextItem()) {
    if (trace::Enabled()) {
      RunTraced(item);
    } else {
      item->Run([this] { NoteIdle(); });
    }
  }
}

void ThreadPoolExecutor::RunTraced(internal::WorkItem* item) {
  const std::string counter =
      absl::StrCat(thread_name_prefix_, " calls in flight");
  trace::Counter("pool", counter,
                 calls_running_.fetch_add(1, std::memory_order_relaxed) + 1);
  {
    trace::Slice slice("pool", "call");
    if (item->trace_flow != 0) trace::FlowEnd("pool", item->trace_flow);
    item->Run([this] { NoteIdle(); });
  }
  trace::Counter("pool", counter,
                 calls_running_.fetch_sub(1, std::memory_order_relaxed) - 1);
}

internal::WorkItem* ThreadPoolExecutor::NextItem() {
  if (internal::WorkItem* item = queue_.Pop()) return item;
  // Waking a sleeping worker costs the submitter a system call; a short spin
  // (base/spin_wait.h's policy) catches the next Submit() of a busy producer.
  for (pyconc::internal::SpinWait spin; spin.Next();) {
    if (!queue_.LooksEmpty()) break;
  }
  if (internal::WorkItem* item = queue_.Pop()) return item;
  return Sleep();
}

void ThreadPoolExecutor::NoteIdle() {
  // Only a pool that may still grow needs to know (AdjustThreadCount()).
  if (num_threads_.load(std::memory_order_relaxed) >= max_workers_ ||
      !queue_.LooksEmpty()) {
    return;
  }
  absl::MutexLock lock(&mu_);
  ++idle_tokens_;
}

bool ThreadPoolExecutor::MayExit() const {
  return shutdown_ && gate_.load(std::memory_order_seq_cst) < kOneSubmit;
}

internal::WorkItem* ThreadPoolExecutor::Sleep() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    // Read before looking at the queue: once no Submit() is in flight after
    // Shutdown(), every call that will ever be queued already is.
    const bool may_exit = MayExit();
    if (internal::WorkItem* item = queue_.Pop()) {
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
      return item;
    }
    if (may_exit) {
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
      // Pass the shutdown on: another sleeper may be waiting for a token.
      work_available_.SignalAll();
      return nullptr;
    }
    while (wake_tokens_ == 0 && !MayExit()) work_available_.Wait(&mu_);
    if (wake_tokens_ > 0) {
      --wake_tokens_;  // The waker already took us off sleepers_.
    } else {
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
    }
  }
}

void ThreadPoolExecutor::AwaitNoSubmitInFlight() const {
  while (gate_.load(std::memory_order_seq_cst) >= kOneSubmit) {
    std::this_thread::yield();  // A Submit() is between two instructions.
  }
}

void ThreadPoolExecutor::InitializerFailed() {
  gate_.fetch_or(kBrokenBit, std::memory_order_seq_cst);
  AwaitNoSubmitInFlight();
  const std::exception_ptr broken =
      std::make_exception_ptr(BrokenExecutor(kBrokenMessage));
  for (internal::WorkItem* item : queue_.Drain()) item->Abandon(broken);
}

void ThreadPoolExecutor::Shutdown(ShutdownOptions options) {
  gate_.fetch_or(kShutdownBit, std::memory_order_seq_cst);
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    work_available_.SignalAll();
  }
  // From here on the queue only shrinks, and threads_ only grew before.
  AwaitNoSubmitInFlight();
  std::vector<threading::ThreadRef> threads;
  {
    absl::MutexLock lock(&mu_);
    threads.assign(threads_.begin(), threads_.end());
  }
  // With no worker (none could be started), nothing will ever take the
  // queued calls, which their Submit()s cancelled: release them.
  if (options.cancel_futures || threads.empty()) {
    for (internal::WorkItem* item : queue_.Drain()) item->Abandon(nullptr);
  }
  if (!options.wait) return;
  for (const threading::ThreadRef& thread : threads) thread.Join();
}

}  // namespace pyconc::futures
