#include "multiprocessing/process/process.h"

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/misuse.h"
#include "multiprocessing/process/internal/io.h"

namespace pyconc::multiprocessing {

Process::Process(ProcessOptions options, internal::ChildEntry entry)
    : identity_(internal::NewChildIdentity()),
      name_(options.name.empty() ? absl::StrCat("Process-", identity_)
                                 : std::move(options.name)),
      daemon_(options.daemon),
      entry_(entry) {}

Process::~Process() {
  // The fork server may hold the child's state until it ends; the sentinel
  // goes with this object, as Python's goes with close().
  if (state_ != nullptr) state_->CloseSentinel();
}

void Process::CheckNotClosed() const {
  if (closed_)
    pyconc::internal::Misuse("ValueError", "process object is closed");
}

absl::Status Process::Start() {
  CheckNotClosed();
  if (state_ != nullptr) {
    pyconc::internal::Misuse("RuntimeError", "cannot start a process twice");
  }
  if (!start_error_.ok()) return start_error_;
  auto state =
      std::make_shared<internal::ChildState>(name_, identity_, daemon_);
  if (absl::Status made = state->MakeSentinel(); !made.ok()) {
    start_error_ = std::move(made);
    return start_error_;
  }
  const absl::StatusOr<pid_t> pid =
      internal::StartChild(entry_, state, payload_, std::move(fds_));
  if (!pid.ok()) {
    start_error_ = pid.status();
    return start_error_;
  }
  state_ = std::move(state);
  payload_.clear();
  return absl::OkStatus();
}

int Process::sentinel() const {
  CheckNotClosed();
  if (state_ == nullptr) {
    pyconc::internal::Misuse("ValueError", "process not started");
  }
  return state_->sentinel();
}

void Process::Join() const { Join(absl::InfiniteDuration()); }

bool Process::Join(absl::Duration timeout) const {
  CheckNotClosed();
  if (state_ == nullptr) {
    pyconc::internal::Misuse("AssertionError",
                             "can only join a started process");
  }
  return state_->WaitExited(timeout);
}

bool Process::IsAlive() const {
  CheckNotClosed();
  return state_ != nullptr && !state_->ExitCode().has_value();
}

std::optional<int> Process::ExitCode() const {
  CheckNotClosed();
  return state_ == nullptr ? std::nullopt : state_->ExitCode();
}

pid_t Process::pid() const {
  CheckNotClosed();
  return state_ == nullptr ? 0 : state_->pid();
}

void Process::SendSignal(int signal) const {
  CheckNotClosed();
  if (IsAlive()) internal::SignalChild(state_->pid(), signal);
}

void Process::Terminate() const { SendSignal(SIGTERM); }
void Process::Kill() const { SendSignal(SIGKILL); }

void Process::Close() {
  if (closed_) return;
  if (IsAlive()) {
    pyconc::internal::Misuse(
        "ValueError",
        "Cannot close a process while it is still running. You should first "
        "call join() or terminate().");
  }
  fds_.fds.clear();
  payload_.clear();
  if (state_ != nullptr) state_->CloseSentinel();
  closed_ = true;
}

void Process::set_daemon(bool daemon) {
  CheckNotClosed();
  if (state_ != nullptr) {
    pyconc::internal::Misuse("AssertionError", "process has already started");
  }
  daemon_ = daemon;
}

bool ProcessHandle::IsAlive() const { return !Join(absl::ZeroDuration()); }

bool ProcessHandle::Join(absl::Duration timeout) const {
  if (child_ != nullptr) return child_->WaitExited(timeout);
  if (parent_pidfd_ < 0) return true;
  // A pidfd polls readable once its process has ended.
  return internal::WaitReadable(parent_pidfd_, absl::Now() + timeout);
}

std::optional<int> ProcessHandle::ExitCode() const {
  return child_ == nullptr ? std::nullopt : child_->ExitCode();
}

std::vector<ProcessHandle> ActiveChildren() {
  std::vector<ProcessHandle> children;
  for (std::shared_ptr<internal::ChildState>& state :
       internal::LiveChildren()) {
    const std::string name = state->name();
    const pid_t pid = state->pid();
    children.push_back(ProcessHandle(name, pid, std::move(state), -1));
  }
  return children;
}

std::optional<ProcessHandle> ParentProcess() {
  const internal::ParentOfThisProcess& parent = internal::ParentOfThis();
  if (parent.pid == 0) return std::nullopt;
  return ProcessHandle(parent.name, parent.pid, nullptr, parent.pidfd);
}

absl::Status StartForkServer() { return internal::EnsureForkServer(); }

int CpuCount() {
  const long count = ::sysconf(_SC_NPROCESSORS_ONLN);
  return count > 0 ? static_cast<int>(count) : 1;
}

int ProcessCpuCount() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof(set), &set) != 0) return CpuCount();
  const int count = CPU_COUNT(&set);
  return count > 0 ? count : CpuCount();
}

std::string CurrentProcessName() { return internal::CurrentProcessName(); }

}  // namespace pyconc::multiprocessing
