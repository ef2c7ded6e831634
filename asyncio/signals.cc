// EventLoop::AddSignalHandler / RemoveSignalHandler, on internal/signals.h.

#include "asyncio/internal/signals.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "asyncio/loop.h"
#include "base/misuse.h"

namespace pyconc::asyncio {
namespace internal {
namespace {

using pyconc::internal::Misuse;

// Which loop handles each signal, process-wide.
ABSL_CONST_INIT absl::Mutex registry_mu(absl::kConstInit);
const SignalHandlers* owner[NSIG] ABSL_GUARDED_BY(registry_mu) = {};
// Signals that a loop's thread blocked for its signalfd (it had not before).
bool blocked_by_loop[NSIG] ABSL_GUARDED_BY(registry_mu) = {};
// The thread the forwarder re-sends each signal to (0: none). Read in the
// signal handler, so a lock-free atomic.
std::atomic<pid_t> forward_to[NSIG] = {};

pid_t ThreadId() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// The disposition of a handled signal, run by a thread that does not block
// it: re-sends the signal to the loop's thread, which blocks it, so that it
// waits in that loop's signalfd. Async-signal-safe.
void Forward(int sig) {
  const int saved_errno = errno;
  const pid_t tid = forward_to[sig].load(std::memory_order_relaxed);
  if (tid != 0 && tid != ThreadId()) syscall(SYS_tgkill, getpid(), tid, sig);
  errno = saved_errno;
}

void CheckSignal(int sig) {
  if (sig < 1 || sig >= NSIG) {
    Misuse("ValueError", absl::StrCat("invalid signal number ", sig));
  }
}

void SetDisposition(int sig, void (*handler)(int)) {
  struct sigaction action = {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  // Python's add_signal_handler calls signal.siginterrupt(sig, False).
  action.sa_flags = SA_RESTART;
  sigaction(sig, &action, nullptr);
}

}  // namespace

SignalHandlers::SignalHandlers(EventLoop& loop) : loop_(loop) {
  sigemptyset(&mask_);
}

SignalHandlers::~SignalHandlers() {
  while (!handlers_.empty()) Remove(handlers_.begin()->first);
}

void SignalHandlers::Add(int sig, absl::AnyInvocable<void()> callback) {
  CheckSignal(sig);
  if (sig == SIGKILL || sig == SIGSTOP) {
    Misuse("RuntimeError", absl::StrCat("sig ", sig, " cannot be caught"));
  }
  if (sig == SIGINT) interrupt_ = false;
  auto shared =
      std::make_shared<absl::AnyInvocable<void()>>(std::move(callback));
  if (auto it = handlers_.find(sig); it != handlers_.end()) {
    it->second.callback = std::move(shared);  // Python replaces the handler.
    return;
  }
  {
    absl::MutexLock lock(&registry_mu);
    if (owner[sig] != nullptr) {
      Misuse("RuntimeError",
             absl::StrCat("sig ", sig, " is handled by another event loop"));
    }
    // glibc keeps two real-time signals for itself (EINVAL); Python answers
    // a signal it cannot catch with RuntimeError.
    struct sigaction action = {};
    action.sa_handler = Forward;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    struct sigaction previous;
    if (sigaction(sig, nullptr, &previous) != 0 ||
        sigaction(sig, &action, nullptr) != 0) {
      Misuse("RuntimeError", absl::StrCat("sig ", sig, " cannot be caught"));
    }
    owner[sig] = this;
    forward_to[sig].store(ThreadId(), std::memory_order_relaxed);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    sigset_t before;
    pthread_sigmask(SIG_BLOCK, &one, &before);
    const bool was_blocked = sigismember(&before, sig) == 1;
    blocked_by_loop[sig] = !was_blocked;
    handlers_[sig] = Entry{std::move(shared), was_blocked};
  }
  sigaddset(&mask_, sig);
  UpdateFd();
}

bool SignalHandlers::Remove(int sig) {
  CheckSignal(sig);
  auto it = handlers_.find(sig);
  if (it == handlers_.end()) return false;
  const bool was_blocked = it->second.was_blocked;
  handlers_.erase(it);
  if (sig == SIGINT) interrupt_ = false;
  sigdelset(&mask_, sig);
  UpdateFd();
  {
    absl::MutexLock lock(&registry_mu);
    forward_to[sig].store(0, std::memory_order_relaxed);
    owner[sig] = nullptr;
    blocked_by_loop[sig] = false;
    // Python restores the default disposition (default_int_handler for
    // SIGINT, which is what SIG_DFL does in C++: the process ends).
    SetDisposition(sig, SIG_DFL);
  }
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  // A signal that arrived but was not read is dropped, as Python drops one
  // whose handler is gone, rather than delivered with the default action.
  const timespec zero = {};
  while (sigtimedwait(&one, nullptr, &zero) == sig) {
  }
  if (!was_blocked) pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  return true;
}

void SignalHandlers::UpdateFd() {
  if (sigisemptyset(&mask_)) {
    if (fd_ >= 0) {
      loop_.RemoveReader(fd_);
      ::close(fd_);
      fd_ = -1;
    }
    return;
  }
  const int fd = signalfd(fd_, &mask_, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) {
    Misuse("OSError", absl::StrCat("signalfd: [Errno ", errno, "] ",
                                   std::strerror(errno)));
  }
  if (fd_ < 0) {
    fd_ = fd;
    loop_.AddReader(fd_, [this] { OnReadable(); });
  }
}

void SignalHandlers::OnReadable() {
  signalfd_siginfo info;
  while (true) {
    const ssize_t n = ::read(fd_, &info, sizeof(info));
    if (n != static_cast<ssize_t>(sizeof(info))) {
      if (n < 0 && errno == EINTR) continue;
      return;  // EAGAIN: nothing more queued.
    }
    auto it = handlers_.find(static_cast<int>(info.ssi_signo));
    if (it == handlers_.end()) continue;
    // Python's _handle_signal schedules the handle; one removed before it
    // runs does not run.
    loop_.CallSoon([weak = std::weak_ptr<absl::AnyInvocable<void()>>(
                        it->second.callback)] {
      if (std::shared_ptr<absl::AnyInvocable<void()>> callback = weak.lock()) {
        (*callback)();
      }
    });
  }
}

void SignalHandlers::InstallInterrupt(EventLoop& loop, AnyTask main) {
  if (ThreadId() != getpid()) return;  // Python: the main thread only.
  {
    absl::MutexLock lock(&registry_mu);
    if (owner[SIGINT] != nullptr) return;
    struct sigaction current;
    if (sigaction(SIGINT, nullptr, &current) != 0 ||
        (current.sa_flags & SA_SIGINFO) != 0 || current.sa_handler != SIG_DFL) {
      return;  // The program installed its own SIGINT handling.
    }
  }
  loop.AddSignalHandler(SIGINT, [&loop, main]() mutable {
    // Python's Runner._on_sigint: the first SIGINT cancels the main task;
    // the default disposition then makes the next one end the process,
    // pyconc's analogue of the KeyboardInterrupt Python raises there.
    loop.RemoveSignalHandler(SIGINT);
    if (!main.Done()) main.Cancel();
  });
  loop.signals_->interrupt_ = true;
}

void SignalHandlers::RemoveInterrupt(EventLoop& loop) {
  if (loop.signals_ != nullptr && loop.signals_->interrupt_) {
    loop.RemoveSignalHandler(SIGINT);
  }
}

void SignalHandlers::UnblockHandled(sigset_t* mask) {
  absl::MutexLock lock(&registry_mu);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (blocked_by_loop[sig]) sigdelset(mask, sig);
  }
}

}  // namespace internal

void EventLoop::AddSignalHandler(int sig, absl::AnyInvocable<void()> callback) {
  CheckOpen("AddSignalHandler");
  if (signals_ == nullptr) {
    signals_ = std::make_unique<internal::SignalHandlers>(*this);
  }
  signals_->Add(sig, std::move(callback));
}

bool EventLoop::RemoveSignalHandler(int sig) {
  if (signals_ == nullptr) {
    if (sig < 1 || sig >= NSIG) {
      pyconc::internal::Misuse("ValueError",
                               absl::StrCat("invalid signal number ", sig));
    }
    return false;
  }
  return signals_->Remove(sig);
}

}  // namespace pyconc::asyncio
