#include "asyncio/loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "asyncio/errors.h"
#include "asyncio/internal/signals.h"
#include "base/errors.h"
#include "base/misuse.h"
#include "base/report.h"
#include "threading/pool/executor.h"

namespace pyconc::asyncio {
namespace {

using pyconc::internal::Misuse;

thread_local EventLoop* running_loop = nullptr;

[[noreturn]] void SystemError(const char* call) {
  Misuse("OSError", absl::StrCat(call, ": ", std::strerror(errno)));
}

// Stops the loop when the future it waits for is done.
class StopNode final : public internal::ReadyNode {
 public:
  explicit StopNode(EventLoop* loop) : loop_(loop) {}
  void RunReady() override {
    ran_ = true;
    loop_->Stop();
  }
  std::string DescribeReady() const override {
    return "RunUntilComplete's stop";
  }
  bool ran() const { return ran_; }

 private:
  EventLoop* loop_;
  bool ran_ = false;
};

}  // namespace

namespace internal {

int64_t LoopCore::NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

LoopCore* RunningLoopCore() { return running_loop; }

LoopCore& RunningLoopOrDie(const char* what) {
  if (running_loop == nullptr) {
    Misuse("RuntimeError", absl::StrCat(what, ": no running event loop"));
  }
  return *running_loop;
}

void LoopCore::CallExceptionHandler(const ExceptionContext& context) {
  if (!exception_handler_) {
    EventLoop::DefaultExceptionHandler(context);
    return;
  }
  try {
    exception_handler_(context);
  } catch (...) {
    EventLoop::DefaultExceptionHandler({"Unhandled error in exception handler",
                                        std::current_exception(),
                                        context.message});
  }
}

void LoopCore::CheckOpen(const char* what) const {
  if (closed_)
    Misuse("RuntimeError", absl::StrCat(what, ": Event loop is closed"));
}

CallbackNode* LoopCore::NewCallback(absl::AnyInvocable<void()> callback,
                                    Where where) {
  auto* node = new CallbackNode(std::move(callback), where);
  node->set_loop(this);
  return node;
}

void LoopCore::UpdateFd(int fd, FdWatch& watch) {
  const uint32_t events = (watch.reader != nullptr ? EPOLLIN : 0u) |
                          (watch.writer != nullptr ? EPOLLOUT : 0u);
  if (events == watch.events) return;
  epoll_event event{};
  event.events = events;
  event.data.fd = fd;
  const int op = watch.events == 0 ? EPOLL_CTL_ADD
                 : events == 0     ? EPOLL_CTL_DEL
                                   : EPOLL_CTL_MOD;
  if (epoll_ctl(epoll_fd_, op, fd, &event) != 0) SystemError("epoll_ctl");
  watch.events = events;
  if (events == 0) fds_.erase(fd);
}

void LoopCore::WatchFd(int fd, bool writer, absl::AnyInvocable<void()> callback,
                       Where where) {
  CheckOpen(writer ? "AddWriter" : "AddReader");
  UnwatchFd(fd, writer);  // Python replaces a previous callback.
  FdWatch& watch = fds_[fd];
  (writer ? watch.writer : watch.reader) =
      NewCallback(std::move(callback), where);
  UpdateFd(fd, watch);
}

bool LoopCore::UnwatchFd(int fd, bool writer) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return false;
  CallbackNode*& slot = writer ? it->second.writer : it->second.reader;
  if (slot == nullptr) return false;
  slot->Cancel();  // It may be in the ready queue already.
  slot->Unref();
  slot = nullptr;
  UpdateFd(fd, it->second);
  return true;
}

void Report(LoopCore* loop, const ExceptionContext& context) {
  if (loop != nullptr) {
    loop->CallExceptionHandler(context);
  } else {
    EventLoop::DefaultExceptionHandler(context);
  }
}

}  // namespace internal

EventLoop& GetRunningLoop() {
  internal::RunningLoopOrDie("GetRunningLoop");
  return *running_loop;
}

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create() {
  std::unique_ptr<EventLoop> loop(new EventLoop(Unopened{}));
  if (absl::Status opened = loop->Open(); !opened.ok()) return opened;
  return loop;
}

EventLoop::EventLoop() : EventLoop(Unopened{}) {
  if (absl::Status opened = Open(); !opened.ok()) {
    // "OSError: [Errno 24] ...": the exception's name, then the rest.
    const std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(opened.message(), absl::MaxSplits(": ", 1));
    Misuse(parts.first, parts.second);
  }
}

EventLoop::EventLoop(Unopened) { debug_ = DebugFromEnvironment(); }

absl::Status EventLoop::Open() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return ErrnoError(errno, "epoll_create1");
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return ErrnoError(errno, "eventfd");
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = wake_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event) != 0) {
    return ErrnoError(errno, "epoll_ctl");
  }
  return absl::OkStatus();
}

EventLoop::~EventLoop() {
  Close();
  default_executor_.reset();
  for (internal::FutureBase* f = tracked_head_; f != nullptr;) {
    internal::FutureBase* next = f->tracked_next_;
    f->DetachFromLoop();
    f->tracked_prev_ = f->tracked_next_ = nullptr;
    f = next;
  }
  tracked_head_ = nullptr;
}

Handle EventLoop::CallSoon(absl::AnyInvocable<void()> callback,
                           internal::Where where) {
  CheckOpen("CallSoon");
  internal::CallbackNode* node = NewCallback(std::move(callback), where);
  Schedule(node);  // The queue holds the node's first reference.
  return Handle(node);
}

TimerHandle EventLoop::CallLater(absl::Duration delay,
                                 absl::AnyInvocable<void()> callback,
                                 internal::Where where) {
  return CallAt(Time() + delay, std::move(callback), where);
}

TimerHandle EventLoop::CallAt(absl::Time when,
                              absl::AnyInvocable<void()> callback,
                              internal::Where where) {
  CheckOpen("CallAt");
  internal::CallbackNode* node = NewCallback(std::move(callback), where);
  int64_t when_ns =
      when == absl::InfiniteFuture() ? INT64_MAX : absl::ToUnixNanos(when);
  node->set_when_ns(when_ns);
  AddTimer(node, when_ns);  // The heap holds the node's first reference.
  return TimerHandle(node);
}

absl::Time EventLoop::Time() const { return absl::FromUnixNanos(NowNs()); }

Handle EventLoop::CallSoonThreadsafe(absl::AnyInvocable<void()> callback,
                                     internal::Where where) {
  internal::CallbackNode* node = NewCallback(std::move(callback), where);
  node->set_one_shot();
  Handle handle(node);
  if (!EnqueueThreadsafe(node)) {
    Misuse("RuntimeError", "CallSoonThreadsafe: Event loop is closed");
  }
  return handle;
}

bool EventLoop::TryCallSoonThreadsafe(absl::AnyInvocable<void()> callback,
                                      internal::Where where) {
  internal::CallbackNode* node = NewCallback(std::move(callback), where);
  if (EnqueueThreadsafe(node)) return true;
  node->Unref();  // Destroys `callback`, outside mu_.
  return false;
}

bool EventLoop::EnqueueThreadsafe(internal::CallbackNode* node) {
  absl::MutexLock lock(&mu_);
  // Checked under the same lock as the push, so Close() cannot slip between.
  if (closed_for_threads_) return false;
  // One wake-up per batch: the loop reads the eventfd before it takes the
  // batch. Written under mu_, so Close() cannot close the eventfd meanwhile.
  if (threadsafe_.empty()) {
    const uint64_t one = 1;
    while (write(wake_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
  }
  threadsafe_.push_back(node);
  return true;
}

futures::ThreadPoolExecutor& EventLoop::DefaultExecutor() {
  CheckOpen("DefaultExecutor");
  if (default_executor_ == nullptr) {
    default_executor_ = std::make_unique<futures::ThreadPoolExecutor>(
        futures::ThreadPoolOptions{.thread_name_prefix = "asyncio"});
  }
  return *default_executor_;
}

void EventLoop::DrainThreadsafe() {
  uint64_t count = 0;
  while (read(wake_fd_, &count, sizeof(count)) < 0 && errno == EINTR) {
  }
  std::vector<internal::CallbackNode*> batch;
  {
    absl::MutexLock lock(&mu_);
    batch.swap(threadsafe_);
  }
  for (internal::CallbackNode* node : batch) Schedule(node);
}

void EventLoop::RunForever() {
  CheckOpen("RunForever");
  if (running_) Misuse("RuntimeError", "This event loop is already running");
  if (running_loop != nullptr) {
    Misuse("RuntimeError",
           "Cannot run the event loop while another loop is running");
  }
  running_ = true;
  running_loop = this;
  while (true) {
    RunOnce();
    if (stopping_) break;
  }
  stopping_ = false;
  running_ = false;
  running_loop = nullptr;
}

void EventLoop::RunUntilDone(internal::FutureBase* future) {
  if (future->loop() != this) {
    Misuse("ValueError", "RunUntilComplete: the future is of another loop");
  }
  if (future->done()) return;
  StopNode stop(this);
  future->AddDoneNode(&stop);
  RunForever();
  if (!stop.ran()) {
    // Stopped for another reason: the node must not outlive this frame.
    if (!future->RemoveDoneNode(&stop)) ready_.Remove(&stop);
  }
  if (!future->done()) {
    Misuse("RuntimeError", "Event loop stopped before Future completed.");
  }
}

void EventLoop::Stop() { stopping_ = true; }

void EventLoop::RunOnce() {
  int timeout_ms = -1;
  if (!ready_.empty() || stopping_) {
    timeout_ms = 0;
  } else if (!timers_.empty()) {
    const int64_t delta = timers_.top_when_ns() - NowNs();
    // Rounded up, so the loop does not wake just before the deadline.
    const int64_t ms = delta <= 0 ? 0 : (delta + 999999) / 1000000;
    timeout_ms = static_cast<int>(ms > INT_MAX ? INT_MAX : ms);
  }
  epoll_event events[128];
  const int n = epoll_wait(epoll_fd_, events, 128, timeout_ms);
  if (n < 0 && errno != EINTR) SystemError("epoll_wait");
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == wake_fd_) {
      DrainThreadsafe();
      continue;
    }
    auto it = fds_.find(fd);
    if (it == fds_.end()) continue;
    const uint32_t got = events[i].events;
    if (it->second.reader != nullptr &&
        (got & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
      it->second.reader->Ref();
      Schedule(it->second.reader);
    }
    if (it->second.writer != nullptr &&
        (got & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
      it->second.writer->Ref();
      Schedule(it->second.writer);
    }
  }
  const int64_t end_ns = NowNs();
  while (!timers_.empty() && timers_.top_when_ns() <= end_ns) {
    timers_.Pop().Fire();
  }
  RunBatch();
}

void EventLoop::RunBatch() {
  internal::ReadyQueue batch;
  ready_.TakeAll(&batch);
  if (!debug_) {
    while (!batch.empty()) {
      internal::ReadyNode* node = batch.Pop();
      // The next node's memory is on its way while this one runs: a task's
      // state and frame lie about 50 bytes in front of its ReadyNode and 180
      // behind, four cache lines that a batch of a million tasks finds cold
      // (timer row 7%, task + yield 3% faster).
      if (const char* next = reinterpret_cast<const char*>(batch.front())) {
        __builtin_prefetch(next - 64);
        __builtin_prefetch(next);
        __builtin_prefetch(next + 64);
        __builtin_prefetch(next + 128);
      }
      node->RunReady();
    }
    return;
  }
  while (!batch.empty()) {
    internal::ReadyNode* node = batch.Pop();
    const std::string what = node->DescribeReady();
    const int64_t start = NowNs();
    node->RunReady();
    const absl::Duration took = absl::Nanoseconds(NowNs() - start);
    if (took >= slow_callback_) {
      const std::string line =
          absl::StrFormat("pyconc.asyncio: Executing %s took %.3f seconds\n",
                          what, absl::ToDoubleSeconds(took));
      std::fwrite(line.data(), 1, line.size(), stderr);
    }
  }
}

void EventLoop::Close() {
  if (running_) Misuse("RuntimeError", "Cannot close a running event loop");
  if (closed_) return;
  // Python's asyncio.run shuts the default executor down before closing.
  if (default_executor_ != nullptr) default_executor_->Shutdown({.wait = true});
  std::vector<internal::CallbackNode*> threadsafe;
  {
    absl::MutexLock lock(&mu_);
    closed_for_threads_ = true;
    threadsafe.swap(threadsafe_);
  }
  for (internal::CallbackNode* node : threadsafe) node->Unref();
  signals_.reset();  // Python's close() removes the signal handlers.
  // Pending tasks are reported and destroyed; they stay allocated until the
  // queue is cleared, since they may still be in it.
  std::vector<AnyTask> pending = internal::AllTasksOf(*this);
  for (AnyTask& task : pending) task.base()->AbandonAtClose();
  while (!ready_.empty()) ready_.Pop()->DropReady();
  pending.clear();
  while (!timers_.empty()) timers_.Pop().Drop();
  for (auto& [fd, watch] : fds_) {
    if (watch.reader != nullptr) watch.reader->Unref();
    if (watch.writer != nullptr) watch.writer->Unref();
  }
  fds_.clear();
  closed_ = true;
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void EventLoop::SetExceptionHandler(ExceptionHandler handler) {
  if (!handler) {
    exception_handler_ = nullptr;
    return;
  }
  exception_handler_ = [this, handler = std::move(handler)](
                           const ExceptionContext& context) mutable {
    handler(*this, context);
  };
}

void EventLoop::DefaultExceptionHandler(const ExceptionContext& context) {
  std::string line = absl::StrCat("pyconc.asyncio: ", context.message);
  if (!context.source.empty()) absl::StrAppend(&line, "\n  ", context.source);
  if (context.exception != nullptr) {
    absl::StrAppend(&line, "\n  ",
                    internal::DescribeException(context.exception));
  }
  line += "\n";
  Report(line);
}

}  // namespace pyconc::asyncio
