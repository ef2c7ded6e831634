// Thread: Python's threading.Thread for C++.
//
// A Thread runs a callable (a "target" with bound arguments) or, in a subclass,
// its overridden Run(), on a new OS thread once Start() is called. It mirrors
// Python:
//
//   t = Thread(target=f, args=(1, 2))     ->  Thread t(f, 1, 2);
//   Thread(target=f, name="w", daemon=1)  ->  Thread t({.name = "w",
//                                                       .daemon = true}, f);
//   t.start(); t.join(); t.join(0.5)      ->  t.Start(); t.Join();
//                                             t.Join(absl::Milliseconds(500));
//   t.is_alive(), t.name, t.ident         ->  t.IsAlive(), t.name(), t.ident()
//   class W(Thread): def run(self)        ->  class W : public Thread {
//                                               void Run() override; };
//   threading.current_thread()            ->  CurrentThread()
//
// Lifetime, as in Python: destroying the handle of a running target thread
// neither kills it nor abandons it; it keeps running and stays in Enumerate().
// When `main` returns (or `exit()` is called), the process first joins every
// non-daemon thread, then runs the remaining exit handlers; daemon threads do
// not hold the process open. A subclass must be joined before it is destroyed,
// because its Run() uses the subclass's members; destroying a running subclass
// fails fast.
//
// Misuse that Python answers with RuntimeError (starting twice, joining an
// unstarted thread or oneself, changing `daemon` after Start) aborts with a
// message naming it.
//
// Thread-safety: every const member function may be called from any thread at
// any time. Start() and set_daemon() are called by the owner. Join() gives a
// happens-before edge: everything the thread did is visible to the caller once
// Join() returns true. Objects are neither copyable nor movable (like
// std::mutex); keep several in a std::deque or std::list, or hold them by
// std::unique_ptr.

#ifndef PYCONC_THREADING_THREAD_THREAD_H_
#define PYCONC_THREADING_THREAD_THREAD_H_

#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace pyconc::threading {

namespace internal {
class ThreadState;

// A test seam, not part of the API: while `error` is not 0, Start() fails as
// if pthread_create() had answered it, so that tests can reach the paths a
// process that runs out of threads takes (root is exempt from RLIMIT_NPROC).
void SetThreadCreateErrorForTesting(int error);
}  // namespace internal

// The keyword arguments of Python's Thread(name=..., daemon=...).
struct ThreadOptions {
  // Empty means "Thread-N", numbered in creation order from 1 (Python's
  // default).
  std::string name;
  // Unset means: inherit the daemon flag of the creating thread (Python's
  // daemon=None).
  std::optional<bool> daemon;
};

// A copyable reference to a thread, as Python code holds the Thread objects
// that current_thread() and enumerate() return. Valid after the thread has
// ended.
class ThreadRef {
 public:
  explicit ThreadRef(std::shared_ptr<internal::ThreadState> state);

  // The thread's name (Python's `name`); only for identification, not unique.
  std::string name() const;
  // Renames the thread; the OS-level name is the one it had when it started.
  void set_name(std::string name);
  // Python's `ident`: the pthread id, 0 until the thread has been started.
  uint64_t ident() const;
  // Python's `native_id`: the kernel's thread id (as `ps -L` shows), 0 until
  // started.
  int64_t native_id() const;
  // Whether the thread is a daemon thread, which does not keep the process
  // alive.
  bool daemon() const;
  // True from Start() until the thread's target or Run() has returned.
  bool IsAlive() const;

  // Waits until the thread has finished. Joining a thread that was never
  // started, or the calling thread itself, is misuse (Python's RuntimeError).
  void Join() const;
  // Waits up to `timeout` (negative means 0); returns whether the thread has
  // finished.
  bool Join(absl::Duration timeout) const;

  // True when both refer to the same thread.
  friend bool operator==(const ThreadRef& a, const ThreadRef& b) {
    return a.state_ == b.state_;
  }

 protected:
  const std::shared_ptr<internal::ThreadState>& state() const { return state_; }

 private:
  std::shared_ptr<internal::ThreadState> state_;
};

// Python's threading.Thread. See the top of this file.
class Thread : public ThreadRef {
 public:
  // A thread that will call `target(args...)`, or `target(stop_token, args...)`
  // when `target` accepts a std::stop_token first (as std::jthread does). The
  // target and arguments are copied or moved into the thread; the target's
  // result is discarded.
  template <typename F, typename... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...> ||
      std::invocable<std::decay_t<F>, std::stop_token, std::decay_t<Args>...>
  explicit Thread(F&& target, Args&&... args)
      : Thread(ThreadOptions{}, std::forward<F>(target),
               std::forward<Args>(args)...) {}

  // As above, with a name and a daemon flag.
  template <typename F, typename... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...> ||
      std::invocable<std::decay_t<F>, std::stop_token, std::decay_t<Args>...>
      Thread(ThreadOptions options, F&& target, Args&&... args)
      : Thread(std::move(options), BindTarget(std::forward<F>(target),
                                              std::forward<Args>(args)...)) {}

  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;
  virtual ~Thread();

  // Starts the thread. Calling it a second time is misuse (Python's
  // RuntimeError). When the OS cannot create a thread (out of memory for its
  // stack, or of processes: EAGAIN), answers FailedPrecondition
  // "RuntimeError: can't start new thread ([Errno 11] ...)", as Python's
  // start() raises; the thread then never runs, is not alive, and Start() and
  // Join() are misuse, as after Python's failed start().
  absl::Status Start();

  // Sets the daemon flag; only before Start() (Python raises RuntimeError
  // after).
  void set_daemon(bool daemon);

  // Asks the thread to stop: its std::stop_token (passed to the target, or read
  // with stop_token() in Run()) reports stop_requested(). Returns whether this
  // call made the request. Nothing is interrupted; the thread decides when to
  // return.
  bool RequestStop();
  // The token RequestStop() signals.
  std::stop_token stop_token() const;

 protected:
  // For subclasses, which override Run(). Python's Thread() without a target.
  explicit Thread(ThreadOptions options = {});

  // What the thread runs, in a subclass (Python's run()). The default does
  // nothing. An exception escaping Run() goes to ExceptHook().
  virtual void Run() {}

 private:
  using Target = absl::AnyInvocable<void(std::stop_token) &&>;

  Thread(ThreadOptions options, Target target);

  // Packs `target` and decayed copies of `args` into one callable taking a
  // stop_token.
  template <typename F, typename... Args>
  static Target BindTarget(F&& target, Args&&... args) {
    return [target = std::decay_t<F>(std::forward<F>(target)),
            ... args = std::decay_t<Args>(std::forward<Args>(args))](
               std::stop_token token) mutable {
      if constexpr (std::invocable<std::decay_t<F>, std::stop_token,
                                   std::decay_t<Args>...>) {
        std::invoke(std::move(target), std::move(token), std::move(args)...);
      } else {
        std::invoke(std::move(target), std::move(args)...);
      }
    };
  }

  // What Start() hands to the new thread.
  struct StartArgs {
    std::shared_ptr<internal::ThreadState> state;
    Target target;
    Thread* subclass;  // Null for a target thread.
  };
  // The new thread's entry (pthread's signature; `arg` is an owned
  // StartArgs): runs either the target or Run().
  static void* Bootstrap(void* arg);

  // Set for target threads until Start() moves it into the new thread.
  Target target_;
  // True when constructed for a subclass: the thread calls this->Run().
  const bool runs_subclass_;
};

// The thread calling it, as Python's current_thread(). A thread that pyconc did
// not start is given a daemon "Dummy-N" entry, as Python's _DummyThread.
ThreadRef CurrentThread();
// The process's main thread (Python's main_thread()), named "MainThread".
ThreadRef MainThread();
// The number of threads alive: main, started pyconc threads, and known dummy
// threads.
int ActiveCount();
// Every thread alive, in the order they started (Python's enumerate()).
std::vector<ThreadRef> Enumerate();
// The calling thread's ident (pthread id) and kernel thread id.
uint64_t GetIdent();
int64_t GetNativeId();

// What ExceptHook receives: the uncaught exception and the thread it escaped
// from.
struct ExceptHookArgs {
  std::exception_ptr exception;
  ThreadRef thread;
};
using ExceptHookFunction = std::function<void(const ExceptHookArgs&)>;

// Reports an exception that escaped a thread (Python's
// threading.excepthook(args)): calls the installed hook, by default
// DefaultExceptHook.
void ExceptHook(const ExceptHookArgs& args);
// Reports "Exception in thread NAME:" and the exception's type and message
// through //base:report's sink, stderr by default (Python's
// threading.__excepthook__).
void DefaultExceptHook(const ExceptHookArgs& args);
// Installs `hook` (nullptr restores the default) and returns the previous one.
ExceptHookFunction SetExceptHook(ExceptHookFunction hook);
// "type: message" for an exception, e.g. "std::runtime_error: boom".
std::string DescribeException(const std::exception_ptr& exception);

}  // namespace pyconc::threading

#endif  // PYCONC_THREADING_THREAD_THREAD_H_
