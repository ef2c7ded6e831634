// Process: Python's multiprocessing.Process for C++.
//
// A Process runs a function in a child process once Start() is called. The
// function is a plain function or a captureless lambda, and its arguments are
// serialized with cereal (see serialize.h), because the child is another
// program image: as with Python's "forkserver" and "spawn" start methods,
// nothing but the arguments travels. Connections (Pipe) and Queues among the
// arguments arrive as working ends of the same channel.
//
//   p = Process(target=f, args=(1, q))       ->  Process p(f, 1, q);
//   Process(target=f, name="w", daemon=True) ->  Process p({.name = "w",
//                                                           .daemon = true},
//                                                          f);
//   p.start(); p.join(); p.join(0.5)         ->  p.Start(); p.Join();
//                                                p.Join(absl::Milliseconds(500));
//   p.is_alive(), p.pid, p.exitcode          ->  p.IsAlive(), p.pid(),
//                                                p.ExitCode()
//   p.terminate(); p.kill(); p.close()       ->  p.Terminate(); p.Kill();
//                                                p.Close();
//
// Exit codes, as Python's: 0 when the target returns; the status passed to
// std::exit() or _exit() in the child; 1 when an exception escapes the target
// (the child prints "Process NAME:" and the exception's type and message on its
// stderr first); minus the signal number when a signal ended it (-15 after
// Terminate(), -9 after Kill()).
//
// At the parent's exit, as in Python: daemon children are terminated and then
// every child is joined; destroying a Process handle neither stops nor
// abandons its child. When the target returns, the child joins the
// non-daemon threads it started (as Python's does), then leaves with _exit
// after flushing stdio: the parent's atexit handlers and static destructors
// are not run in it.
//
// Fork-safety: children are forked by the fork server
// (internal/fork_server.h), a single-threaded process started while this
// program had one thread, so a child never waits on a lock that one of this
// program's threads held when Start() was called. Programs that start threads
// before their first Process call StartForkServer() at the top of main;
// otherwise the first Start() starts it, and aborts with that advice if other
// threads already run.
//
// Misuse that Python answers with an error aborts with its name: starting
// twice (RuntimeError), joining an unstarted process (AssertionError), using
// a closed process or closing a running one (ValueError).
//
// Thread-safety: Start(), Close() and the setters are called by the owner;
// Join, IsAlive, ExitCode, pid, Terminate and Kill may be called from any
// thread after Start(). Join() gives a happens-before edge with the child's
// exit. Not copyable or movable (keep several in a std::deque or std::list).

#ifndef PYCONC_MULTIPROCESSING_PROCESS_PROCESS_H_
#define PYCONC_MULTIPROCESSING_PROCESS_PROCESS_H_

#include <sys/types.h>

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "multiprocessing/process/internal/fork_server.h"
#include "multiprocessing/process/internal/serialize.h"

namespace pyconc::multiprocessing {

namespace internal {

// What a child can run: a function pointer, or a class with no state that the
// child can build again, like a captureless lambda.
template <typename F>
concept StatelessTarget = (std::is_pointer_v<F> &&
                           std::is_function_v<std::remove_pointer_t<F>>) ||
                          (std::is_class_v<F> && std::is_empty_v<F> &&
                           std::is_default_constructible_v<F>);

// Whether `F` can be called with the deserialized arguments, as lvalues or,
// for by-value parameters of move-only types, as rvalues.
template <typename F, typename... Args>
concept TargetFor = StatelessTarget<F> &&
    (std::invocable<F&, Args&...> || std::invocable<F&, Args...>);

// Types that have a constructor for "about to be loaded" (no resources of
// their own, such as a Queue) use it; others are default-constructed.
struct LoadTag {};
template <typename T>
T MakeForLoad() {
  if constexpr (std::is_constructible_v<T, LoadTag>) {
    return T(LoadTag{});
  } else {
    return T{};
  }
}

// The ChildEntry for target type F and argument types Args.
template <typename F, typename... Args>
void RunTarget(std::string_view payload, FdTable* fds) {
  std::tuple<Args...> args(MakeForLoad<Args>()...);
  F target{};
  std::apply(
      [&](Args&... values) {
        if constexpr (std::is_pointer_v<F>) {
          uint64_t address = 0;
          Deserialize(payload, fds, address, values...);
          target = reinterpret_cast<F>(address);
        } else {
          Deserialize(payload, fds, values...);
        }
      },
      args);
  if constexpr (std::invocable<F&, Args&...>) {
    std::apply(target, args);
  } else {
    std::apply(target, std::move(args));
  }
}

}  // namespace internal

// The keyword arguments of Python's Process(name=..., daemon=...).
struct ProcessOptions {
  // Empty means "Process-N", numbered in creation order from 1 (Python's);
  // in a child, "Process-N:M" for its own M-th (Python's identity chain).
  std::string name;
  // A daemon child is terminated when its parent exits; others are joined.
  bool daemon = false;
};

// Python's multiprocessing.Process. See the top of this file.
class Process {
 public:
  // A process that will call `target(args...)`. The arguments are serialized
  // now (Python pickles them at start()); later changes to them are not seen.
  template <typename F, typename... Args>
  requires internal::TargetFor<F, std::decay_t<Args>...>
  explicit Process(F target, const Args&... args)
      : Process(ProcessOptions{}, target, args...) {}

  // As above, with a name and a daemon flag.
  template <typename F, typename... Args>
  requires internal::TargetFor<F, std::decay_t<Args>...> Process(
      ProcessOptions options, F target, const Args&... args)
      : Process(std::move(options),
                &internal::RunTarget<F, std::decay_t<Args>...>) {
    // Python pickles at start(): a failure here is what Start() answers.
    try {
      if constexpr (std::is_pointer_v<F>) {
        payload_ = internal::Serialize(
            &fds_, reinterpret_cast<uint64_t>(target), args...);
      } else {
        payload_ = internal::Serialize(&fds_, args...);
      }
    } catch (const std::exception& e) {
      start_error_ = internal::SerializeError(e);
      fds_.fds.clear();
    }
  }

  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // Closes the sentinel; the child, if it still runs, goes on.
  ~Process();

  // Python's start(): the child begins running the target. Starting twice is
  // misuse. When no child can be created, answers the OSError (Python's
  // start() raises it), e.g. kResourceExhausted "OSError: [Errno 24] Too many
  // open files: ..." when the descriptors given to the child cannot be
  // duplicated; arguments that could not be serialized answer
  // pickle.PicklingError. A Process whose Start() failed is not started and
  // keeps answering that error (make a new one to try again).
  absl::Status Start();

  // Python's join(): waits until the child has ended.
  void Join() const;
  // Python's join(timeout): waits up to `timeout`; answers whether it ended.
  bool Join(absl::Duration timeout) const;
  // Python's is_alive(): started and not yet ended.
  bool IsAlive() const;
  // Python's exitcode: unset until the child has ended. See the top of this
  // file.
  std::optional<int> ExitCode() const;
  // Python's pid: the child's process id, 0 before Start().
  pid_t pid() const;

  // Python's terminate() and kill(): SIGTERM or SIGKILL to a running child;
  // nothing once it has ended. Join() afterwards to collect it.
  void Terminate() const;
  void Kill() const;
  // Python's close(): releases the process object; misuse while the child
  // runs. Every later call but Close() is misuse.
  void Close();

  // Python's sentinel: a descriptor that polls readable once the child has
  // ended and its exit code is known (then Join() returns at once). For
  // connection::Wait(). Misuse before Start(). Start() makes it first, so a
  // process with no descriptor left does not start (OSError).
  int sentinel() const;

  // Python's name and daemon attributes; daemon can change only before
  // Start().
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  bool daemon() const { return daemon_; }
  void set_daemon(bool daemon);

 private:
  Process(ProcessOptions options, internal::ChildEntry entry);
  void CheckNotClosed() const;
  void SendSignal(int signal) const;

  const std::string identity_;  // Python's _identity, e.g. "3:1".
  std::string name_;
  bool daemon_;
  const internal::ChildEntry entry_;
  std::string payload_;
  internal::FdTable fds_;
  // Why Start() cannot (or could not) start the child; ok until then.
  absl::Status start_error_;
  std::shared_ptr<internal::ChildState> state_;  // Set by Start().
  bool closed_ = false;
};

// A running child or the parent of this process, as Python's
// active_children() and parent_process() answer them: a handle that can be
// copied and shares the state of the Process that started the child.
class ProcessHandle {
 public:
  // Python's name and pid.
  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  // Python's is_alive(): the process has not ended.
  bool IsAlive() const;
  // Python's join(timeout): waits up to `timeout`; answers whether it ended.
  bool Join(absl::Duration timeout = absl::InfiniteDuration()) const;
  // For a child: Python's exitcode (unset while it runs); unset for a parent.
  std::optional<int> ExitCode() const;

 private:
  friend std::vector<ProcessHandle> ActiveChildren();
  friend std::optional<ProcessHandle> ParentProcess();
  ProcessHandle(std::string name, pid_t pid,
                std::shared_ptr<internal::ChildState> child, int parent_pidfd)
      : name_(std::move(name)),
        pid_(pid),
        child_(std::move(child)),
        parent_pidfd_(parent_pidfd) {}

  std::string name_;
  pid_t pid_;
  std::shared_ptr<internal::ChildState> child_;  // For a child.
  int parent_pidfd_;  // For the parent: a pidfd, or -1 if it had gone.
};

// Python's multiprocessing.active_children(): the children this process
// started that have not ended, in the order they started.
std::vector<ProcessHandle> ActiveChildren();

// Python's multiprocessing.parent_process(): in a child, the process that
// started it; nullopt in the main process.
std::optional<ProcessHandle> ParentProcess();

// Starts the fork server now, while the program has one thread (see the top of
// this file); a no-op when it runs. Python's set_start_method("forkserver")
// with forkserver.ensure_running(). Misuse once other threads run. Running
// out (of descriptors, processes) is an OSError with the errno's text, e.g.
// kResourceExhausted "OSError: [Errno 24] Too many open files: ...".
absl::Status StartForkServer();

// Python's os.cpu_count(): the number of processors online.
int CpuCount();

// Python's os.process_cpu_count() (3.13): the processors this process may run
// on (its CPU affinity), which is what a pool's default size counts.
int ProcessCpuCount();

// Python's current_process().name: "MainProcess" in the parent, the Process's
// name in a child.
std::string CurrentProcessName();

}  // namespace pyconc::multiprocessing

#endif  // PYCONC_MULTIPROCESSING_PROCESS_PROCESS_H_
