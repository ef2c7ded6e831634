// SignalHandlers: the part of an EventLoop behind AddSignalHandler and
// RemoveSignalHandler (Python's loop._signal_handlers), on a signalfd.
//
// A handled signal is blocked in the loop's thread and read from a signalfd
// the loop watches like any reader; each signal read schedules its callback
// (Python's _handle_signal). The signal's disposition becomes a small
// forwarder (Python installs _sighandler_noop there): when another thread,
// one that does not block the signal, takes a process-directed signal, the
// forwarder re-sends it to the loop's thread (tgkill), where it waits in the
// signalfd. So a signal reaches the loop whichever thread the kernel picks.
//
// A signal belongs to at most one loop in the process at a time (Python's
// signal.set_wakeup_fd is one per process too).
//
// Thread-safety: the loop's thread only; the process-wide table of which loop
// handles which signal is guarded by a mutex.

#ifndef PYCONC_ASYNCIO_INTERNAL_SIGNALS_H_
#define PYCONC_ASYNCIO_INTERNAL_SIGNALS_H_

#include <signal.h>
#include <sys/types.h>

#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "asyncio/task.h"

namespace pyconc::asyncio {
class EventLoop;
}  // namespace pyconc::asyncio

namespace pyconc::asyncio::internal {

class SignalHandlers {
 public:
  explicit SignalHandlers(EventLoop& loop);
  SignalHandlers(const SignalHandlers&) = delete;
  SignalHandlers& operator=(const SignalHandlers&) = delete;
  // Removes every handler (Python's loop.close() does).
  ~SignalHandlers();

  // EventLoop::AddSignalHandler / RemoveSignalHandler; see loop.h.
  void Add(int sig, absl::AnyInvocable<void()> callback);
  bool Remove(int sig);

  // asyncio.run's SIGINT handler (Python's Runner._on_sigint): on the main
  // thread, when SIGINT has its default disposition and no loop handles it,
  // the first SIGINT cancels `main` and gives SIGINT back its default
  // disposition (so the next one ends the process). Installs nothing
  // otherwise.
  static void InstallInterrupt(EventLoop& loop, AnyTask main);
  // Removes the handler InstallInterrupt installed, if it is still there
  // (the program did not replace it with AddSignalHandler(SIGINT, ...)).
  static void RemoveInterrupt(EventLoop& loop);

  // Removes from `mask` the signals that loops block to read them from their
  // signalfd, so a child process starts with the mask its parent had before.
  static void UnblockHandled(sigset_t* mask);

 private:
  struct Entry {
    std::shared_ptr<absl::AnyInvocable<void()>> callback;
    // Whether the loop's thread blocked the signal before Add.
    bool was_blocked = false;
  };
  // Points the signalfd at mask_, creating or closing it as needed.
  void UpdateFd();
  // Reads every queued signal and schedules its callback.
  void OnReadable();

  EventLoop& loop_;
  int fd_ = -1;
  sigset_t mask_;
  absl::flat_hash_map<int, Entry> handlers_;
  // Whether SIGINT's handler is InstallInterrupt's.
  bool interrupt_ = false;
};

}  // namespace pyconc::asyncio::internal

#endif  // PYCONC_ASYNCIO_INTERNAL_SIGNALS_H_
