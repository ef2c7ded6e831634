// Subprocesses: Python's asyncio.create_subprocess_exec / _shell and
// asyncio.subprocess.Process (3.13), on the event loop without blocking it.
//
//   Python                                   pyconc
//   p = await asyncio.create_subprocess_exec(absl::StatusOr<Process> p =
//       "ls", "-l", stdout=PIPE)                 CreateSubprocessExec(
//                                                    {"ls", "-l"},
//                                                    {.out = kPipe});
//   out, err = await p.communicate()         auto out = co_await
//                                                p->Communicate();
//   code = await p.wait()                    int code = co_await p->Wait();
//   p.returncode, p.kill(), p.terminate()    p->Returncode(), p->Kill(), ...
//   line = await p.stdout.readline()         co_await p->Stdout()->ReadLine()
//
// The child's pipes are streams (streams.h): Stdin() a StreamWriter, Stdout()
// and Stderr() StreamReaders, with their flow control and limit. The child's
// exit is watched with a pidfd (Linux 5.3+) on the loop: the loop reaps the
// child in the iteration its pidfd becomes readable, and wakes the tasks in
// Wait(). Where the kernel has no pidfd_open, the loop polls the child every
// 10 ms instead.
// Communicate() feeds stdin, reads stdout and stderr to their end
// concurrently (so a child writing more than a pipe holds never deadlocks),
// then waits for the exit. Wait() and Communicate() are cancellable
// (CancelledError at the await; the child keeps running).
//
// Where it differs from Python, and why: creating the process is a plain
// call (Python awaits it, for its transport's setup; spawning itself does not
// wait), which keeps argument vectors out of co_await operands, where g++ 12
// miscompiles temporaries with destructors. Spawn failures are values
// (FileNotFoundError, PermissionError, ... by //base:errors). The pipes are
// Unix socket pairs rather than pipe(2)s, so that they are streams like any
// other (a child sees a socket, not a FIFO, on its piped descriptors). Wait()
// returns once the child exited; Python 3.13's also waits for the output
// pipes to reach their end. Signalling a child already reaped is
// ProcessLookupError, a value. A Process whose handles are all gone while the
// child runs leaves it running, unreaped (Python warns that the transport was
// never closed).
//
// Thread-safety: the loop's thread only, like every asyncio object.

#ifndef PYCONC_ASYNCIO_SUBPROCESS_H_
#define PYCONC_ASYNCIO_SUBPROCESS_H_

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "asyncio/coroutine.h"
#include "asyncio/streams.h"

namespace pyconc::asyncio {
namespace internal {
class ProcessState;
}  // namespace internal

// What a child's stdin, stdout or stderr is: Python's None (inherited from
// this process), subprocess.PIPE, subprocess.DEVNULL, or, for stderr only,
// subprocess.STDOUT (the same pipe or file as stdout).
enum class Stdio { kInherit, kPipe, kDevNull, kStdout };
inline constexpr Stdio kPipe = Stdio::kPipe;
inline constexpr Stdio kDevNull = Stdio::kDevNull;
inline constexpr Stdio kStdout = Stdio::kStdout;

// The keyword arguments of create_subprocess_exec: `in`, `out` and `err` are
// Python's stdin=, stdout= and stderr=.
struct SubprocessOptions {
  Stdio in = Stdio::kInherit;
  Stdio out = Stdio::kInherit;
  Stdio err = Stdio::kInherit;
  // The limit of the Stdout() and Stderr() readers.
  size_t limit = kDefaultStreamLimit;
};

// What Communicate() gives: Python's (stdout_data, stderr_data); a stream
// that is not a pipe gives "" (Python's None).
struct Communicated {
  std::string out;
  std::string err;
};

// Python's asyncio.subprocess.Process. A copyable handle; copies share the
// process.
class Process {
 public:
  // Python's pid.
  pid_t Pid() const;
  // Python's returncode: nullopt while the child runs (or is not reaped
  // yet); the exit status, or -N when signal N ended it.
  std::optional<int> Returncode() const;
  // Python's stdin, stdout, stderr: null unless that stream is a pipe.
  StreamWriter* Stdin();
  StreamReader* Stdout();
  StreamReader* Stderr();

  // Python's wait(): the return code, once the child exited.
  Coroutine<int> Wait();
  // Python's communicate(input): writes `input` to stdin (if it is a pipe;
  // a child that does not read it is not an error: BrokenPipeError and
  // ConnectionResetError are ignored, as Python does) and closes it, reads
  // stdout and stderr to their end, and waits for the exit. `input` must
  // stay valid until the await completes. A read error is its status.
  Coroutine<absl::StatusOr<Communicated>> Communicate(
      absl::string_view input = {});
  // Python's send_signal(sig), terminate() (SIGTERM) and kill() (SIGKILL).
  // ProcessLookupError once the child has been reaped.
  absl::Status SendSignal(int signal);
  absl::Status Terminate();
  absl::Status Kill();

 private:
  friend class internal::ProcessState;
  explicit Process(std::shared_ptr<internal::ProcessState> state)
      : state_(std::move(state)) {}

  std::shared_ptr<internal::ProcessState> state_;
};

// Python's create_subprocess_exec(program, *args, ...): runs argv[0] (looked
// up in PATH when it has no '/') with arguments argv[1..]. Call inside a
// task. Misuse (ValueError) when argv is empty or stdin/stdout is kStdout.
absl::StatusOr<Process> CreateSubprocessExec(absl::Span<const std::string> argv,
                                             SubprocessOptions options = {});
// Python's create_subprocess_shell(cmd, ...): /bin/sh -c cmd.
absl::StatusOr<Process> CreateSubprocessShell(absl::string_view command,
                                              SubprocessOptions options = {});

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_SUBPROCESS_H_
