#include "asyncio/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "asyncio/gather.h"
#include "asyncio/internal/signals.h"
#include "asyncio/internal/wait_list.h"
#include "asyncio/loop.h"
#include "asyncio/task.h"
#include "base/errors.h"
#include "base/misuse.h"

extern char** environ;

namespace pyconc::asyncio {
namespace internal {
namespace {

// Python's returncode from a wait status.
int ReturnCode(int status) {
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace

// A child process: its pid, how its exit is watched, its pipes.
class ProcessState {
 public:
  ProcessState(EventLoop& loop, pid_t pid) : loop_(&loop), pid_(pid) {}
  ~ProcessState() {
    if (poll_.has_value()) poll_->Cancel();
    if (pidfd_ >= 0) {
      if (!loop_->IsClosed()) loop_->RemoveReader(pidfd_);
      ::close(pidfd_);
    }
  }

  static Process Handle(std::shared_ptr<ProcessState> state) {
    return Process(std::move(state));
  }

  // Starts watching for the exit: the pidfd on the loop, or, on a kernel
  // without pidfd_open, a poll every 10 ms.
  void Watch() {
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd_ < 0) {
      PollExit();
      return;
    }
    ::fcntl(pidfd_, F_SETFD, FD_CLOEXEC);
    loop_->AddReader(pidfd_, [this] {
      if (!TryReap()) return;  // A spurious wake-up.
      loop_->RemoveReader(pidfd_);
      ::close(pidfd_);
      pidfd_ = -1;
    });
  }

  pid_t pid() const { return pid_; }
  const std::optional<int>& returncode() const { return returncode_; }
  std::optional<StreamWriter> in;
  std::optional<StreamReader> out;
  std::optional<StreamReader> err;

  Coroutine<int> Wait() {
    if (!returncode_.has_value()) {
      Waiter waiter(exit_waiters_, "Process.Wait");
      co_await waiter;
    }
    co_return *returncode_;
  }

  absl::Status SendSignal(int signal) {
    if (returncode_.has_value()) {
      return MakeError(PythonError::kProcessLookupError,
                       absl::StrCat("process ", pid_, " has exited"));
    }
    // Not reaped yet, so the pid is still this child's.
    if (::kill(pid_, signal) != 0 && errno != ESRCH) {
      return ErrnoError(errno, "kill");
    }
    return absl::OkStatus();
  }

 private:
  // Reaps the child if it exited: true then.
  bool TryReap() {
    int status = 0;
    pid_t reaped;
    do {
      reaped = ::waitpid(pid_, &status, WNOHANG);
    } while (reaped < 0 && errno == EINTR);
    if (reaped == 0) return false;
    // reaped < 0: somebody else reaped it; Python reports 255 then.
    Exited(reaped == pid_ ? status : (255 << 8));
    return true;
  }

  void PollExit() {
    if (TryReap()) return;
    poll_ = loop_->CallLater(absl::Milliseconds(10), [this] { PollExit(); });
  }

  void Exited(int status) {
    returncode_ = ReturnCode(status);
    while (Waiter* waiter = exit_waiters_.PopFront()) waiter->Wake();
  }

  EventLoop* const loop_;
  const pid_t pid_;
  int pidfd_ = -1;
  std::optional<TimerHandle> poll_;  // Without a pidfd.
  std::optional<int> returncode_;
  WaitList exit_waiters_;
};

namespace {

// Python's _feed_stdin: writes `input`, ignores a child that stopped reading,
// closes stdin. "" when done.
Coroutine<absl::StatusOr<std::string>> FeedStdin(StreamWriter writer,
                                                 std::string input) {
  writer.Write(input);
  absl::Status drained = co_await writer.Drain();
  writer.Close();
  if (!drained.ok() && !IsError(drained, PythonError::kBrokenPipeError) &&
      !IsError(drained, PythonError::kConnectionResetError)) {
    co_return drained;
  }
  co_return std::string();
}

Coroutine<absl::StatusOr<std::string>> ReadToEnd(StreamReader reader) {
  co_return co_await reader.Read();
}

// The ends of one of the child's standard streams.
struct Pipe {
  int parent = -1;
  int child = -1;
};

absl::Status MakePipe(Pipe* pipe) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return ErrnoError(errno, "socketpair");
  }
  pipe->parent = fds[0];
  pipe->child = fds[1];
  return absl::OkStatus();
}

}  // namespace
}  // namespace internal

pid_t Process::Pid() const { return state_->pid(); }
std::optional<int> Process::Returncode() const { return state_->returncode(); }
StreamWriter* Process::Stdin() {
  return state_->in.has_value() ? &*state_->in : nullptr;
}
StreamReader* Process::Stdout() {
  return state_->out.has_value() ? &*state_->out : nullptr;
}
StreamReader* Process::Stderr() {
  return state_->err.has_value() ? &*state_->err : nullptr;
}
Coroutine<int> Process::Wait() { return state_->Wait(); }
absl::Status Process::SendSignal(int signal) {
  return state_->SendSignal(signal);
}
absl::Status Process::Terminate() { return state_->SendSignal(SIGTERM); }
absl::Status Process::Kill() { return state_->SendSignal(SIGKILL); }

Coroutine<absl::StatusOr<Communicated>> Process::Communicate(
    absl::string_view input) {
  // The state stays alive through the await, whatever happens to this handle.
  std::shared_ptr<internal::ProcessState> state = state_;
  std::vector<Task<absl::StatusOr<std::string>>> parts;
  if (state->in.has_value()) {
    parts.push_back(
        CreateTask(internal::FeedStdin(*state->in, std::string(input))));
  }
  if (state->out.has_value()) {
    parts.push_back(CreateTask(internal::ReadToEnd(*state->out)));
  }
  if (state->err.has_value()) {
    parts.push_back(CreateTask(internal::ReadToEnd(*state->err)));
  }
  std::vector<absl::StatusOr<std::string>> done =
      co_await Gather(std::move(parts));
  Communicated result;
  size_t next = 0;
  if (state->in.has_value()) {
    if (!done[next].ok()) co_return done[next].status();
    ++next;
  }
  for (auto [has, into] : {std::pair(state->out.has_value(), &result.out),
                           std::pair(state->err.has_value(), &result.err)}) {
    if (!has) continue;
    if (!done[next].ok()) co_return done[next].status();
    *into = *std::move(done[next]);
    ++next;
  }
  co_await state->Wait();
  co_return result;
}

absl::StatusOr<Process> CreateSubprocessExec(absl::Span<const std::string> argv,
                                             SubprocessOptions options) {
  if (argv.empty()) {
    pyconc::internal::Misuse("ValueError",
                             "CreateSubprocessExec: argv must name a program");
  }
  if (options.in == Stdio::kStdout || options.out == Stdio::kStdout) {
    pyconc::internal::Misuse("ValueError",
                             "STDOUT can only be used for stderr");
  }
  EventLoop& loop = GetRunningLoop();
  internal::Pipe pipes[3];
  const Stdio modes[3] = {options.in, options.out, options.err};
  auto close_all = [&pipes] {
    for (internal::Pipe& p : pipes) {
      if (p.parent >= 0) ::close(p.parent);
      if (p.child >= 0) ::close(p.child);
    }
  };
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int fd = 0; fd < 3; ++fd) {
    switch (modes[fd]) {
      case Stdio::kInherit:
        break;
      case Stdio::kPipe:
        if (absl::Status made = internal::MakePipe(&pipes[fd]); !made.ok()) {
          posix_spawn_file_actions_destroy(&actions);
          close_all();
          return made;
        }
        posix_spawn_file_actions_adddup2(&actions, pipes[fd].child, fd);
        break;
      case Stdio::kDevNull:
        posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_RDWR, 0);
        break;
      case Stdio::kStdout:
        posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, fd);
        break;
    }
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  // The child starts without the block the loops put on handled signals.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  internal::SignalHandlers::UnblockHandled(&mask);
  posix_spawnattr_setsigmask(&attr, &mask);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  const int spawned =
      ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  for (internal::Pipe& p : pipes) {
    if (p.child >= 0) ::close(p.child);
    p.child = -1;
  }
  if (spawned != 0) {
    close_all();
    return ErrnoError(spawned, absl::StrCat("'", argv[0], "'"));
  }
  auto state = std::make_shared<internal::ProcessState>(loop, pid);
  if (pipes[0].parent >= 0) {
    state->in = OpenConnectionOnSocket(pipes[0].parent, options.limit).second;
  }
  if (pipes[1].parent >= 0) {
    state->out = OpenConnectionOnSocket(pipes[1].parent, options.limit).first;
  }
  if (pipes[2].parent >= 0) {
    state->err = OpenConnectionOnSocket(pipes[2].parent, options.limit).first;
  }
  state->Watch();
  return internal::ProcessState::Handle(std::move(state));
}

absl::StatusOr<Process> CreateSubprocessShell(absl::string_view command,
                                              SubprocessOptions options) {
  const std::string argv[] = {"/bin/sh", "-c", std::string(command)};
  return CreateSubprocessExec(argv, options);
}

}  // namespace pyconc::asyncio
