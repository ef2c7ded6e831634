// The fork server: how pyconc starts child processes safely in a program that
// runs threads. (Internal; Process and ProcessPoolExecutor use it.)
//
// Why: fork() copies only the calling thread. A lock that another thread held
// at that instant (an absl::Mutex, malloc's arena lock, stdio's lock, a
// logger's) stays locked in the child for ever, and a child that touches it
// hangs. Python's answer, the "forkserver" start method, is pyconc's:
//
//   - While the program is still single-threaded, it forks a server process
//     (at the first Process::Start(), or earlier with StartForkServer()). No
//     thread but the caller exists then, so no lock can be held by a thread the
//     copy lacks. Starting it once other threads run is misuse, which aborts
//     with a message naming the fix, rather than risk the deadlock.
//   - The server is single-threaded for ever: it forks each child on request
//     from that clean image, and the child runs the target there. So no child
//     ever waits on a lock held by a thread that fork did not copy, whatever
//     the parent's threads are doing at the moment of Start().
//   - The target is a plain function (or a captureless lambda), which exists
//     at the same address in the server's copy of the program; its arguments
//     travel serialized with cereal, and the descriptors of Connections and
//     Queues among them travel as SCM_RIGHTS, as Python's forkserver pickles
//     and passes them.
//   - The server keeps only stdin, stdout and stderr of the parent's
//     descriptors (it closes the rest at start), so a Pipe end the parent
//     closes is really closed and the peer sees EOF.
//   - The server is the children's parent: it reaps them (so none stays a
//     zombie) and reports each wait status to the parent, which turns it into
//     Process::ExitCode(). Signals to a child go through the server, which
//     sends them only to a child it has not reaped, so a recycled pid is never
//     hit.
//   - If the server dies (killed), its children run on as orphans: the
//     parent watches each through a pidfd, so Join() returns when the child
//     really ends, with its true exit code when the parent is its subreaper
//     and 255 otherwise (Python's code for a child it lost track of);
//     Terminate() and Kill() reach it through the pidfd.
//   - At the parent's exit, daemon children are terminated and the others
//     joined (Python's rules), then the server stops. If the parent dies
//     without exiting normally, the server sees its socket close, terminates
//     the daemon children, waits for the others, and exits.
//
// What a child sees: the program as it was when the server started (globals,
// flags parsed by then), not the parent's later changes, as with Python's
// forkserver and spawn methods. Children inherit stdin/stdout/stderr.
//
// Thread-safety: every function may be called from any thread once the
// server runs. Fork-safety: this is the one place pyconc forks.

#ifndef PYCONC_MULTIPROCESSING_PROCESS_INTERNAL_FORK_SERVER_H_
#define PYCONC_MULTIPROCESSING_PROCESS_INTERNAL_FORK_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "multiprocessing/process/internal/serialize.h"

namespace pyconc::multiprocessing::internal {

// What a child runs: it reads its target and arguments from `payload` (taking
// descriptors from `fds`) and calls the target. An exception escaping it is
// reported on the child's stderr and makes its exit code 1.
using ChildEntry = void (*)(std::string_view payload, FdTable* fds);

// One child as its parent sees it; shared by its Process and the server
// client.
class ChildState {
 public:
  ChildState(std::string name, std::string identity, bool daemon)
      : name_(std::move(name)),
        identity_(std::move(identity)),
        daemon_(daemon) {}
  ChildState(const ChildState&) = delete;
  ChildState& operator=(const ChildState&) = delete;
  ~ChildState() { CloseSentinel(); }

  const std::string& name() const { return name_; }
  // Python's _identity, joined: "3" for the third child of the main process,
  // "3:1" for that child's first.
  const std::string& identity() const { return identity_; }
  bool daemon() const { return daemon_; }

  pid_t pid() const {
    absl::MutexLock lock(&mu_);
    return pid_;
  }
  void set_pid(pid_t pid) {
    absl::MutexLock lock(&mu_);
    pid_ = pid;
  }
  // Among the children of this process, when this one started.
  uint64_t start_order() const {
    absl::MutexLock lock(&mu_);
    return start_order_;
  }
  void set_start_order(uint64_t order) {
    absl::MutexLock lock(&mu_);
    start_order_ = order;
  }
  // Records the child's wait status (as waitpid() gives it); wakes joiners
  // and makes the sentinel readable.
  void SetExited(int wait_status);

  // Makes the Process's sentinel, an eventfd that polls readable once
  // SetExited() has run. Made before the child starts, so that a process
  // with no descriptor left does not start (Python fails the same way making
  // its sentinel pipe): an OSError then.
  absl::Status MakeSentinel();
  // The sentinel's descriptor; -1 before MakeSentinel() or after
  // CloseSentinel().
  int sentinel() const {
    absl::MutexLock lock(&mu_);
    return sentinel_;
  }
  // Closes the sentinel (Python's Process.close()).
  void CloseSentinel();
  // Waits up to `timeout` for the child to end; answers whether it has.
  bool WaitExited(absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(this, &ChildState::Exited),
                                timeout);
  }
  // Python's exitcode: unset while running, else the exit status, or minus
  // the signal that ended it.
  std::optional<int> ExitCode() const;

 private:
  bool Exited() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return wait_status_.has_value();
  }

  const std::string name_;
  const std::string identity_;
  const bool daemon_;
  mutable absl::Mutex mu_;
  pid_t pid_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t start_order_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<int> wait_status_ ABSL_GUARDED_BY(mu_);
  int sentinel_ ABSL_GUARDED_BY(mu_) = -1;
};

// Starts the server unless it runs. Misuse (aborts) when the process already
// has more than one thread: forking then is what the server exists to avoid.
// Running out (no descriptor, process or thread left) is an OSError, e.g.
// kResourceExhausted "OSError: [Errno 24] Too many open files: ...".
absl::Status EnsureForkServer();
// Starts the server if it does not run and the process still has one thread;
// otherwise does nothing. For code about to start a helper thread of its own
// (a Queue's feeder), so that a later Process can still start.
void StartForkServerIfAlone();
// Has the server fork a child that runs `entry(payload, fds)` (starting the
// server first if needed); the descriptors in `fds` are given to the child
// (and closed here). Sets and answers the child's pid, or the OSError that
// kept the child from being created.
absl::StatusOr<pid_t> StartChild(ChildEntry entry,
                                 const std::shared_ptr<ChildState>& state,
                                 std::string_view payload, FdTable fds);
// Sends `signal` to the child, unless it has already ended.
void SignalChild(pid_t pid, int signal);
// Python's atexit handler for multiprocessing: terminates the daemon children,
// waits for the others, then stops the server and reaps it. Runs by itself at
// exit; tests call it to check that nothing is left behind.
void ShutdownForkServer();
// The server's pid, or 0 when none runs (for tests and tools).
pid_t ForkServerPid();
// The identity of this process's next child (Python's _identity: this
// process's own, then its count of Process objects made so far, from 1),
// e.g. "3:1".
std::string NewChildIdentity();
// The children of this process that have started and not ended, in start
// order (Python's active_children()).
std::vector<std::shared_ptr<ChildState>> LiveChildren();
// In a child: its parent's name, pid and a pidfd for it (-1 when the parent
// had already gone); in the main process, pid 0.
struct ParentOfThisProcess {
  std::string name;
  pid_t pid = 0;
  int pidfd = -1;
};
const ParentOfThisProcess& ParentOfThis();
// The name of this process: "MainProcess", or the name of the Process that
// this child runs (Python's current_process().name).
std::string CurrentProcessName();

}  // namespace pyconc::multiprocessing::internal

#endif  // PYCONC_MULTIPROCESSING_PROCESS_INTERNAL_FORK_SERVER_H_
