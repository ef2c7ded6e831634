#include "multiprocessing/process/internal/fork_server.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/errors.h"
#include "base/misuse.h"
#include "base/trace.h"
#include "multiprocessing/process/internal/io.h"
#include "threading/thread/thread.h"

namespace pyconc::multiprocessing::internal {
namespace {

// The wire format between a parent and its server: fixed-size headers in the
// machine's byte order (both ends are the same program), descriptors attached
// to a request header as SCM_RIGHTS, then the request's variable-size bytes.
enum RequestType : uint32_t { kStart = 1, kSignal = 2 };

struct RequestHeader {
  uint32_t type = 0;
  uint32_t fd_count = 0;
  uint64_t id = 0;             // kStart: matches the reply.
  uint64_t entry = 0;          // kStart: the ChildEntry's address.
  int64_t pid = 0;             // kSignal: whom.
  int32_t signal = 0;          // kSignal: what.
  uint32_t daemon = 0;         // kStart: terminated when the parent goes away.
  uint64_t name_size = 0;      // kStart: bytes of name, identity and payload
  uint64_t identity_size = 0;  // follow, then the parent's name.
  uint64_t parent_name_size = 0;
  int64_t parent_pid = 0;  // kStart: the process that asked for the child.
  uint64_t payload_size = 0;
  // kStart: the trace the child records into (trace::internal::ChildSession),
  // zeros when none records.
  int64_t trace_start_ns = 0;
  int64_t trace_root_pid = 0;
};

enum ReplyType : uint32_t { kStarted = 1, kStartFailed = 2, kExited = 3 };

struct Reply {
  uint32_t type = 0;
  int32_t value = 0;  // kStartFailed: errno; kExited: the wait status.
  uint64_t id = 0;    // kStarted, kStartFailed: the request.
  int64_t pid = 0;    // kStarted, kExited: the child.
};

// waitid()'s P_PIDFD (Linux 5.4), which older headers lack.
constexpr int kPidFdType = 3;

// At most this many descriptors travel with one Process (the kernel's limit
// for one SCM_RIGHTS message is 253).
constexpr size_t kMaxFds = 250;

// This process's name, as current_process().name; set in each child.
std::string& ProcessName() {
  static std::string* const name = new std::string("MainProcess");
  return *name;
}

// This process's identity ("" in the main process) and how many Process
// objects it has made; both set afresh in each child.
std::string& ProcessIdentity() {
  static std::string* const identity = new std::string;
  return *identity;
}
std::atomic<int64_t> children_made{0};

ParentOfThisProcess& Parent() {
  static ParentOfThisProcess* const parent = new ParentOfThisProcess;
  return *parent;
}

// Python's threading._shutdown() at the end of BaseProcess._bootstrap: a
// child waits for the non-daemon threads its target started before it exits.
void JoinNonDaemonThreads() {
  const threading::ThreadRef self = threading::CurrentThread();
  bool joined = true;
  while (joined) {
    joined = false;
    for (const threading::ThreadRef& thread : threading::Enumerate()) {
      if (thread == self || thread.daemon() || !thread.IsAlive()) continue;
      thread.Join();
      joined = true;
    }
  }
}

// The threads of this process, by kernel id; an OSError when they cannot be
// listed (no descriptor left to open /proc/self/task).
absl::StatusOr<std::vector<pid_t>> Threads() {
  std::vector<pid_t> threads;
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) {
    return ErrnoError(errno, "cannot list the threads in /proc/self/task");
  }
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') threads.push_back(std::atoi(entry->d_name));
  }
  ::closedir(dir);
  return threads;
}

// Threads that a sanitizer's runtime starts in a child right after fork
// (ThreadSanitizer's background thread): fork copies one thread, so any other
// present before the target runs is the runtime's, and holds none of the
// program's locks.
std::vector<pid_t>& RuntimeThreads() {
  static std::vector<pid_t>* const threads = new std::vector<pid_t>;
  return *threads;
}

// The threads that could hold a lock of the program's: all but the runtime's.
absl::StatusOr<int> CountProgramThreads() {
  absl::StatusOr<std::vector<pid_t>> threads = Threads();
  if (!threads.ok()) return threads.status();
  int count = 0;
  for (pid_t tid : *threads) {
    const std::vector<pid_t>& runtime = RuntimeThreads();
    if (std::find(runtime.begin(), runtime.end(), tid) == runtime.end()) {
      ++count;
    }
  }
  return count;
}

// ---------------------------------------------------------------------------
// The server process.

bool SendReply(int sock, const Reply& reply) {
  return WriteAll(sock, &reply, sizeof(reply));
}

// Reads one request and its descriptors; false once the parent has gone.
bool ReceiveRequest(int sock, RequestHeader* header, std::string* name,
                    std::string* identity, std::string* parent_name,
                    std::string* payload, FdTable* fds) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  iovec io = {.iov_base = header, .iov_len = sizeof(*header)};
  msghdr message = {};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(sock, &message, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr;
       c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds->fds.emplace_back(fd);
    }
  }
  if (static_cast<size_t>(n) < sizeof(*header) &&
      !ReadAll(sock, reinterpret_cast<char*>(header) + n,
               sizeof(*header) - static_cast<size_t>(n))) {
    return false;
  }
  name->resize(header->name_size);
  identity->resize(header->identity_size);
  parent_name->resize(header->parent_name_size);
  payload->resize(header->payload_size);
  return ReadAll(sock, name->data(), name->size()) &&
         ReadAll(sock, identity->data(), identity->size()) &&
         ReadAll(sock, parent_name->data(), parent_name->size()) &&
         ReadAll(sock, payload->data(), payload->size());
}

// Runs in a freshly forked child of the server; never returns.
[[noreturn]] void RunChild(const RequestHeader& header, std::string name,
                           std::string identity, std::string parent_name,
                           const std::string& payload, FdTable* fds,
                           const sigset_t& parent_mask) {
  ::signal(SIGINT, SIG_DFL);
  ::sigprocmask(SIG_SETMASK, &parent_mask, nullptr);
  ::prctl(PR_SET_NAME, name.substr(0, 15).c_str());
  ProcessName() = std::move(name);
  ProcessIdentity() = std::move(identity);
  children_made.store(0, std::memory_order_relaxed);
  Parent().name = std::move(parent_name);
  Parent().pid = static_cast<pid_t>(header.parent_pid);
  Parent().pidfd = static_cast<int>(
      ::syscall(SYS_pidfd_open, static_cast<pid_t>(header.parent_pid), 0));
  const pid_t self = static_cast<pid_t>(::gettid());
  for (pid_t tid : Threads().value_or(std::vector<pid_t>())) {
    if (tid != self) RuntimeThreads().push_back(tid);
  }
  trace::internal::RecordAsChild(
      {.start_ns = header.trace_start_ns, .root_pid = header.trace_root_pid},
      ProcessName());
  int exit_code = 0;
  try {
    trace::Slice body("process", ProcessName());
    reinterpret_cast<ChildEntry>(header.entry)(payload, fds);
  } catch (...) {
    // Python's BaseProcess._bootstrap prints "Process NAME:" and the
    // traceback.
    const std::string report = absl::StrCat(
        "Process ", ProcessName(), ":\n",
        threading::DescribeException(std::current_exception()), "\n");
    std::fwrite(report.data(), 1, report.size(), stderr);
    exit_code = 1;
  }
  JoinNonDaemonThreads();
  // What a Python child does on its way out: its own children are dealt with,
  // its buffers flushed, and then os._exit (the parent's atexit handlers and
  // static destructors are not this process's to run).
  ShutdownForkServer();
  trace::internal::FinishChild();
  std::fflush(nullptr);
  ::_exit(exit_code);
}

// Closes every descriptor but stdin, stdout, stderr and `keep`.
void CloseInheritedDescriptors(int keep) {
  if (keep > 3) ::close_range(3, static_cast<unsigned>(keep) - 1, 0);
  ::close_range(static_cast<unsigned>(keep) + 1, ~0U, 0);
}

[[noreturn]] void Serve(int sock, const sigset_t& parent_mask) {
  CloseInheritedDescriptors(sock);
  // Ctrl-C is for the parent, which decides what its children do.
  ::signal(SIGINT, SIG_IGN);
  sigset_t child_signal;
  sigemptyset(&child_signal);
  sigaddset(&child_signal, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &child_signal, nullptr);
  const int signal_fd =
      ::signalfd(-1, &child_signal, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0) ::_exit(1);

  std::map<pid_t, bool> children;  // pid -> daemon, until reaped.
  auto reap = [&](int options) {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, options)) > 0) {
      children.erase(pid);
      SendReply(sock, {.type = kExited, .value = status, .pid = pid});
    }
  };

  while (true) {
    pollfd ready[2] = {{.fd = sock, .events = POLLIN, .revents = 0},
                       {.fd = signal_fd, .events = POLLIN, .revents = 0}};
    if (::poll(ready, 2, -1) < 0) continue;  // EINTR
    if (ready[1].revents != 0) {
      signalfd_siginfo info;
      while (::read(signal_fd, &info, sizeof(info)) > 0) {
      }
      reap(WNOHANG);
    }
    if (ready[0].revents == 0) continue;
    RequestHeader header;
    std::string name, identity, parent_name, payload;
    FdTable fds;
    if (!ReceiveRequest(sock, &header, &name, &identity, &parent_name, &payload,
                        &fds)) {
      break;
    }
    if (header.type == kSignal) {
      if (children.count(static_cast<pid_t>(header.pid)) != 0) {
        ::kill(static_cast<pid_t>(header.pid), header.signal);
      }
      continue;
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(sock);
      ::close(signal_fd);
      RunChild(header, std::move(name), std::move(identity),
               std::move(parent_name), payload, &fds, parent_mask);
    }
    if (pid < 0) {
      SendReply(sock, {.type = kStartFailed, .value = errno, .id = header.id});
      continue;
    }
    children[pid] = header.daemon != 0;
    SendReply(sock, {.type = kStarted, .id = header.id, .pid = pid});
  }

  // The parent has gone without shutting us down (it crashed or was killed):
  // what its exit would have done.
  for (const auto& [pid, daemon] : children) {
    if (daemon) ::kill(pid, SIGTERM);
  }
  reap(0);
  ::_exit(0);
}

// ---------------------------------------------------------------------------
// The parent's side.

class Client {
 public:
  Client(int sock, pid_t server_pid) : sock_(sock), server_pid_(server_pid) {}

  pid_t server_pid() const { return server_pid_; }

  // An error when no thread can be created.
  absl::Status StartReader() {
    try {
      std::thread([this] { ReadReplies(); }).detach();
    } catch (const std::system_error& e) {
      return ErrnoError(e.code().value(),
                        "cannot start the fork server's reader thread");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<pid_t> Start(ChildEntry entry,
                              const std::shared_ptr<ChildState>& state,
                              std::string_view payload, FdTable fds) {
    if (fds.fds.size() > kMaxFds) {
      return ErrnoError(EMFILE,
                        "too many Connections and Queues for one Process");
    }
    Pending pending;
    pending.state = state;
    uint64_t id;
    {
      absl::MutexLock lock(&mu_);
      if (server_gone_) {
        return ErrnoError(ECHILD, "the fork server has stopped");
      }
      id = next_id_++;
      pending_[id] = &pending;
    }
    RequestHeader header = {.type = kStart,
                            .fd_count = static_cast<uint32_t>(fds.fds.size()),
                            .id = id,
                            .entry = reinterpret_cast<uint64_t>(entry),
                            .daemon = state->daemon() ? 1u : 0u,
                            .name_size = state->name().size(),
                            .identity_size = state->identity().size(),
                            .parent_name_size = ProcessName().size(),
                            .parent_pid = ::getpid(),
                            .payload_size = payload.size()};
    const trace::internal::ChildSession session =
        trace::internal::SessionForChild();
    header.trace_start_ns = session.start_ns;
    header.trace_root_pid = session.root_pid;
    const bool sent = Send(header, fds, state->name(), state->identity(),
                           ProcessName(), payload);
    absl::MutexLock lock(&mu_);
    if (sent) mu_.Await(absl::Condition(&pending.done));
    pending_.erase(id);
    if (!sent || pending.error != 0) {
      return ErrnoError(sent ? pending.error : ECHILD,
                        "cannot start the child process");
    }
    return pending.pid;
  }

  void Signal(pid_t pid, int signal) {
    {
      absl::MutexLock lock(&mu_);
      if (auto it = orphan_fds_.find(pid); it != orphan_fds_.end()) {
        // The server has gone; the pidfd names exactly this child.
        ::syscall(SYS_pidfd_send_signal, it->second, signal, nullptr, 0);
        return;
      }
    }
    RequestHeader header = {.type = kSignal, .pid = pid, .signal = signal};
    Send(header, FdTable(), "", "", "", "");
  }

  std::vector<std::shared_ptr<ChildState>> Live() {
    absl::MutexLock lock(&mu_);
    std::vector<std::shared_ptr<ChildState>> live;
    for (const auto& [pid, state] : live_) live.push_back(state);
    std::sort(live.begin(), live.end(), [](const auto& a, const auto& b) {
      return a->start_order() < b->start_order();
    });
    return live;
  }

  // Python's util._exit_function: terminate daemons, join the rest; then
  // stop the server and reap it.
  void Shutdown() {
    std::vector<std::shared_ptr<ChildState>> live;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [pid, state] : live_) live.push_back(state);
    }
    for (const auto& state : live) {
      if (state->daemon()) Signal(state->pid(), SIGTERM);
    }
    for (const auto& state : live) state->WaitExited(absl::InfiniteDuration());
    // The reader sees EOF, the server sees EOF; the descriptor itself stays
    // open so that no racing call can write into a recycled one.
    ::shutdown(sock_, SHUT_RDWR);
    int status;
    while (::waitpid(server_pid_, &status, 0) < 0 && errno == EINTR) {
    }
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&reader_done_));
  }

 private:
  struct Pending {
    std::shared_ptr<ChildState> state;
    bool done = false;
    int error = 0;
    pid_t pid = 0;
  };

  bool Send(const RequestHeader& header, const FdTable& fds,
            std::string_view name, std::string_view identity,
            std::string_view parent_name, std::string_view payload) {
    iovec io = {.iov_base = const_cast<RequestHeader*>(&header),
                .iov_len = sizeof(header)};
    msghdr message = {};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
    if (!fds.fds.empty()) {
      const size_t bytes = sizeof(int) * fds.fds.size();
      message.msg_control = control;
      message.msg_controllen = CMSG_SPACE(bytes);
      cmsghdr* c = CMSG_FIRSTHDR(&message);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(bytes);
      for (size_t i = 0; i < fds.fds.size(); ++i) {
        const int fd = fds.fds[i].get();
        std::memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
      }
    }
    absl::MutexLock lock(&send_mu_);
    ssize_t n;
    do {
      n = ::sendmsg(sock_, &message, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return false;
    return (static_cast<size_t>(n) == sizeof(header) ||
            WriteAll(sock_, reinterpret_cast<const char*>(&header) + n,
                     sizeof(header) - static_cast<size_t>(n))) &&
           WriteAll(sock_, name.data(), name.size()) &&
           WriteAll(sock_, identity.data(), identity.size()) &&
           WriteAll(sock_, parent_name.data(), parent_name.size()) &&
           WriteAll(sock_, payload.data(), payload.size());
  }

  void ReadReplies() {
    Reply reply;
    while (ReadAll(sock_, &reply, sizeof(reply))) {
      absl::MutexLock lock(&mu_);
      const pid_t pid = static_cast<pid_t>(reply.pid);
      if (reply.type == kExited) {
        auto it = live_.find(pid);
        if (it == live_.end()) continue;
        it->second->SetExited(reply.value);
        live_.erase(it);
        continue;
      }
      auto it = pending_.find(reply.id);
      if (it == pending_.end()) continue;
      Pending& pending = *it->second;
      if (reply.type == kStarted) {
        // Registered here, before the next reply is read, so that the exit of
        // a child that ends at once is not missed.
        pending.pid = pid;
        pending.state->set_pid(pid);
        pending.state->set_start_order(next_start_++);
        live_[pid] = pending.state;
      } else {
        pending.error = reply.value;
      }
      pending.done = true;
    }
    std::vector<std::pair<int, std::shared_ptr<ChildState>>> orphans;
    {
      absl::MutexLock lock(&mu_);
      server_gone_ = true;
      for (const auto& [id, pending] : pending_) {
        pending->error = ECHILD;
        pending->done = true;
      }
      // The children of a server that vanished run on, orphaned: each is
      // watched through a pidfd until it really ends. Its exit status is
      // known when this process is its subreaper (it came back to us);
      // otherwise it is 255, as Python reports a child it lost track of.
      for (auto it = live_.begin(); it != live_.end();) {
        const int fd =
            static_cast<int>(::syscall(SYS_pidfd_open, it->first, 0));
        if (fd < 0) {
          it->second->SetExited(W_EXITCODE(255, 0));
          it = live_.erase(it);
          continue;
        }
        orphan_fds_[it->first] = fd;
        orphans.emplace_back(fd, it->second);
        ++it;
      }
    }
    WatchOrphans(std::move(orphans));
    absl::MutexLock lock(&mu_);
    reader_done_ = true;
  }

  void WatchOrphans(
      std::vector<std::pair<int, std::shared_ptr<ChildState>>> orphans) {
    std::vector<pollfd> fds;
    while (!orphans.empty()) {
      fds.clear();
      for (const auto& [fd, state] : orphans) {
        fds.push_back({.fd = fd, .events = POLLIN, .revents = 0});
      }
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;  // EINTR
      for (size_t i = fds.size(); i-- > 0;) {
        if (fds[i].revents == 0) continue;
        const auto [fd, state] = orphans[i];
        siginfo_t info = {};
        int status = W_EXITCODE(255, 0);
        if (::waitid(static_cast<idtype_t>(kPidFdType), static_cast<id_t>(fd),
                     &info, WEXITED | WNOHANG) == 0 &&
            info.si_pid != 0) {
          status = info.si_code == CLD_EXITED ? W_EXITCODE(info.si_status, 0)
                                              : W_EXITCODE(0, info.si_status);
        }
        {
          absl::MutexLock lock(&mu_);
          live_.erase(state->pid());
          orphan_fds_.erase(state->pid());
        }
        state->SetExited(status);
        ::close(fd);
        orphans.erase(orphans.begin() + static_cast<ptrdiff_t>(i));
      }
    }
  }

  const int sock_;
  const pid_t server_pid_;
  absl::Mutex send_mu_;  // Keeps each request whole on the socket.
  absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, Pending*> pending_ ABSL_GUARDED_BY(mu_);
  std::map<pid_t, std::shared_ptr<ChildState>> live_ ABSL_GUARDED_BY(mu_);
  uint64_t next_start_ ABSL_GUARDED_BY(mu_) = 0;
  // Children of a vanished server, by pid: a pidfd for each until it ends.
  std::map<pid_t, int> orphan_fds_ ABSL_GUARDED_BY(mu_);
  bool server_gone_ ABSL_GUARDED_BY(mu_) = false;
  bool reader_done_ ABSL_GUARDED_BY(mu_) = false;
};

// The running server's client, or null. Starting it needs no lock: it happens
// only while the process has one thread, so nothing can race with it.
std::atomic<Client*> client{nullptr};

void ShutdownAtExit() { ShutdownForkServer(); }

}  // namespace

void ChildState::SetExited(int wait_status) {
  absl::MutexLock lock(&mu_);
  wait_status_ = wait_status;
  if (sentinel_ >= 0) {
    const uint64_t one = 1;
    // Never blocks (written once); an eventfd this object owns cannot fail.
    const ssize_t written = ::write(sentinel_, &one, sizeof(one));
    static_cast<void>(written);
  }
}

absl::Status ChildState::MakeSentinel() {
  const int fd = ::eventfd(0, EFD_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "cannot make the process's sentinel");
  absl::MutexLock lock(&mu_);
  sentinel_ = fd;
  return absl::OkStatus();
}

void ChildState::CloseSentinel() {
  absl::MutexLock lock(&mu_);
  if (sentinel_ >= 0) ::close(sentinel_);
  sentinel_ = -1;
}

std::optional<int> ChildState::ExitCode() const {
  absl::MutexLock lock(&mu_);
  if (!wait_status_.has_value()) return std::nullopt;
  if (WIFSIGNALED(*wait_status_)) return -WTERMSIG(*wait_status_);
  return WEXITSTATUS(*wait_status_);
}

absl::Status EnsureForkServer() {
  if (client.load(std::memory_order_acquire) != nullptr) {
    return absl::OkStatus();
  }
  const absl::StatusOr<int> threads = CountProgramThreads();
  if (!threads.ok()) return threads.status();
  if (*threads != 1) {
    pyconc::internal::Misuse(
        "RuntimeError",
        absl::StrCat(
            "the multiprocessing fork server must start while the program has "
            "one thread (it has ",
            *threads,
            "): call pyconc::multiprocessing::StartForkServer() at the top of "
            "main, before any thread starts"));
  }
  int socks[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, socks) != 0) {
    return ErrnoError(errno, "cannot connect to the fork server: socketpair");
  }
  static const bool at_exit_registered = std::atexit(&ShutdownAtExit) == 0;
  (void)at_exit_registered;
  sigset_t mask;
  ::sigprocmask(SIG_SETMASK, nullptr, &mask);
  std::fflush(nullptr);  // Or the server's copy of unflushed output repeats.
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(socks[0]);
    ::close(socks[1]);
    return ErrnoError(error, "cannot start the fork server: fork");
  }
  if (pid == 0) {
    ::close(socks[0]);
    Serve(socks[1], mask);
  }
  ::close(socks[1]);
  auto started = std::make_unique<Client>(socks[0], pid);
  if (absl::Status status = started->StartReader(); !status.ok()) {
    // The server sees its socket close and exits.
    ::close(socks[0]);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return status;
  }
  client.store(started.release(), std::memory_order_release);
  return absl::OkStatus();
}

void StartForkServerIfAlone() {
  if (client.load(std::memory_order_acquire) != nullptr) return;
  // A server that cannot start now is tried again, and its error answered, by
  // the first Process::Start().
  if (CountProgramThreads().value_or(0) == 1) (void)EnsureForkServer();
}

absl::StatusOr<pid_t> StartChild(ChildEntry entry,
                                 const std::shared_ptr<ChildState>& state,
                                 std::string_view payload, FdTable fds) {
  if (absl::Status status = EnsureForkServer(); !status.ok()) return status;
  return client.load(std::memory_order_acquire)
      ->Start(entry, state, payload, std::move(fds));
}

void SignalChild(pid_t pid, int signal) {
  if (Client* c = client.load(std::memory_order_acquire))
    c->Signal(pid, signal);
}

void ShutdownForkServer() {
  if (Client* c = client.exchange(nullptr, std::memory_order_acq_rel)) {
    c->Shutdown();
    // Never freed (its reader thread may still be leaving the client's mutex),
    // but kept reachable, so that leak checkers know it is kept on purpose.
    static absl::Mutex retired_mu(absl::kConstInit);
    static std::vector<Client*>* const retired = new std::vector<Client*>;
    absl::MutexLock lock(&retired_mu);
    retired->push_back(c);
  }
}

pid_t ForkServerPid() {
  const Client* c = client.load(std::memory_order_acquire);
  return c == nullptr ? 0 : c->server_pid();
}

std::vector<std::shared_ptr<ChildState>> LiveChildren() {
  Client* c = client.load(std::memory_order_acquire);
  return c == nullptr ? std::vector<std::shared_ptr<ChildState>>() : c->Live();
}

const ParentOfThisProcess& ParentOfThis() { return Parent(); }

std::string NewChildIdentity() {
  const int64_t count =
      children_made.fetch_add(1, std::memory_order_relaxed) + 1;
  return ProcessIdentity().empty()
             ? absl::StrCat(count)
             : absl::StrCat(ProcessIdentity(), ":", count);
}

std::string CurrentProcessName() { return ProcessName(); }

}  // namespace pyconc::multiprocessing::internal
