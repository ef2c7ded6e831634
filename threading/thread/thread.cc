#include "threading/thread/thread.h"

#include <cxxabi.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <typeinfo>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/errors.h"
#include "base/misuse.h"
#include "base/report.h"
#include "base/trace.h"
#include "sync/local/local.h"

namespace pyconc::threading {
namespace {

// What Start() makes pthread_create() fail with, for tests; 0 normally.
std::atomic<int> injected_create_error{0};

}  // namespace

namespace internal {

// What every handle of one thread shares. Outlives the thread and its Thread
// object.
class ThreadState : public std::enable_shared_from_this<ThreadState> {
 public:
  // kFailed: Start() could not create the thread.
  enum class Phase { kNew, kStarted, kFinished, kFailed };

  ThreadState(std::string name, bool daemon, bool dummy)
      : dummy_(dummy), name_(std::move(name)), daemon_(daemon) {}

  bool dummy() const { return dummy_; }
  std::stop_source& stop_source() { return stop_source_; }

  std::string name() const {
    absl::MutexLock lock(&mu_);
    return name_;
  }
  void set_name(std::string name) {
    absl::MutexLock lock(&mu_);
    name_ = std::move(name);
  }
  bool daemon() const {
    absl::MutexLock lock(&mu_);
    return daemon_;
  }
  void set_daemon(bool daemon) {
    absl::MutexLock lock(&mu_);
    if (phase_ != Phase::kNew) {
      pyconc::internal::Misuse("RuntimeError",
                               "cannot set daemon status of active thread");
    }
    daemon_ = daemon;
  }
  Phase phase() const {
    absl::MutexLock lock(&mu_);
    return phase_;
  }

  // Moves kNew to kStarted; false when the thread was started before.
  bool MarkStarted() {
    absl::MutexLock lock(&mu_);
    if (phase_ != Phase::kNew) return false;
    phase_ = Phase::kStarted;
    return true;
  }
  // Called by the thread itself (or for threads pyconc did not start) on entry.
  void Publish(uint64_t ident, int64_t native_id) {
    absl::MutexLock lock(&mu_);
    ident_ = ident;
    native_id_ = native_id;
    if (phase_ == Phase::kNew) phase_ = Phase::kStarted;
  }
  void MarkFinished() {
    absl::MutexLock lock(&mu_);
    phase_ = Phase::kFinished;
  }
  void MarkFailed() {
    absl::MutexLock lock(&mu_);
    phase_ = Phase::kFailed;
  }

  // The ids wait for a started thread to publish them, so they are valid right
  // after Start() returns, as in Python (whose start() waits for the thread).
  uint64_t ident() const {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &ThreadState::IdsKnown));
    return ident_;
  }
  int64_t native_id() const {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &ThreadState::IdsKnown));
    return native_id_;
  }

  bool WaitFinished(absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(this, &ThreadState::Finished),
                                timeout);
  }

  // Position in the registry; written once, by Registry::Add, before the thread
  // runs.
  uint64_t registry_key = 0;

 private:
  bool IdsKnown() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return phase_ != Phase::kStarted || native_id_ != 0;
  }
  bool Finished() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return phase_ == Phase::kFinished;
  }

  const bool dummy_;
  std::stop_source stop_source_;
  mutable absl::Mutex mu_;
  std::string name_ ABSL_GUARDED_BY(mu_);
  bool daemon_ ABSL_GUARDED_BY(mu_);
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kNew;
  uint64_t ident_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t native_id_ ABSL_GUARDED_BY(mu_) = 0;
};

void SetThreadCreateErrorForTesting(int error) {
  injected_create_error.store(error, std::memory_order_relaxed);
}

}  // namespace internal

namespace {

using internal::ThreadState;

// The calling thread's state, when pyconc knows it (its own threads, main,
// dummies).
thread_local ThreadState* current_state = nullptr;

// Python's _newname(): one counter for "Thread-N" and "Dummy-N".
std::string NewName(absl::string_view prefix) {
  static std::atomic<int64_t> counter{0};
  return absl::StrCat(prefix,
                      counter.fetch_add(1, std::memory_order_relaxed) + 1);
}

uint64_t OsIdent() { return static_cast<uint64_t>(pthread_self()); }
int64_t OsNativeId() { return static_cast<int64_t>(::syscall(SYS_gettid)); }

// The threads alive, in start order: Python's _active.
class Registry {
 public:
  // Never destroyed: daemon threads may still use it while the process exits.
  static Registry& Get() {
    static Registry* const registry = new Registry;
    return *registry;
  }

  const std::shared_ptr<ThreadState>& main_thread() const {
    return main_thread_;
  }

  void Add(const std::shared_ptr<ThreadState>& state) {
    absl::MutexLock lock(&mu_);
    state->registry_key = next_key_++;
    active_.emplace(state->registry_key, state);
  }
  void Remove(const ThreadState& state) {
    absl::MutexLock lock(&mu_);
    active_.erase(state.registry_key);
  }
  int Count() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(active_.size());
  }
  std::vector<ThreadRef> Snapshot() const {
    absl::MutexLock lock(&mu_);
    std::vector<ThreadRef> threads;
    threads.reserve(active_.size());
    for (const auto& [key, state] : active_) threads.emplace_back(state);
    return threads;
  }
  // A non-daemon thread other than main and `self`, or null when none is left.
  std::shared_ptr<ThreadState> AnyNonDaemonExcept(
      const ThreadState* self) const {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, state] : active_) {
      if (state.get() != self && state != main_thread_ && !state->daemon())
        return state;
    }
    return nullptr;
  }

 private:
  // Built on first use, which the initializer at the end of this file makes
  // happen during static initialization, on the main thread.
  Registry()
      : main_thread_(std::make_shared<ThreadState>("MainThread",
                                                   /*daemon=*/false,
                                                   /*dummy=*/false)) {
    if (OsNativeId() == ::getpid()) {
      main_thread_->Publish(OsIdent(), OsNativeId());
      current_state = main_thread_.get();
      trace::NameThisThread("MainThread");
    } else {
      main_thread_->Publish(0, ::getpid());
    }
    Add(main_thread_);
  }

  const std::shared_ptr<ThreadState> main_thread_;
  mutable absl::Mutex mu_;
  uint64_t next_key_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, std::shared_ptr<ThreadState>> active_ ABSL_GUARDED_BY(mu_);
};

// Python's threading._shutdown(): returning from main waits for non-daemon
// threads.
void JoinNonDaemonThreadsAtExit() {
  const Registry& registry = Registry::Get();
  while (std::shared_ptr<ThreadState> state =
             registry.AnyNonDaemonExcept(current_state)) {
    state->WaitFinished(absl::InfiniteDuration());
  }
}

// Removes a dummy thread from the registry when its OS thread exits.
struct DummyRegistration {
  std::shared_ptr<ThreadState> state;
  ~DummyRegistration() {
    if (state == nullptr) return;
    Registry::Get().Remove(*state);
    state->MarkFinished();
    current_state = nullptr;
  }
};

ThreadState& CurrentState() {
  if (current_state != nullptr) return *current_state;
  thread_local DummyRegistration dummy;
  dummy.state =
      std::make_shared<ThreadState>(NewName("Dummy-"), /*daemon=*/true,
                                    /*dummy=*/true);
  dummy.state->Publish(OsIdent(), OsNativeId());
  Registry::Get().Add(dummy.state);
  current_state = dummy.state.get();
  return *current_state;
}

std::string Demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> demangled(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  return status == 0 ? std::string(demangled.get()) : std::string(mangled);
}

absl::Mutex except_hook_mu(absl::kConstInit);
ExceptHookFunction& InstalledExceptHook()
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(except_hook_mu) {
  static ExceptHookFunction* const hook =
      new ExceptHookFunction(&DefaultExceptHook);
  return *hook;
}

}  // namespace

ThreadRef::ThreadRef(std::shared_ptr<internal::ThreadState> state)
    : state_(std::move(state)) {}

std::string ThreadRef::name() const { return state_->name(); }
void ThreadRef::set_name(std::string name) {
  state_->set_name(std::move(name));
}
uint64_t ThreadRef::ident() const { return state_->ident(); }
int64_t ThreadRef::native_id() const { return state_->native_id(); }
bool ThreadRef::daemon() const { return state_->daemon(); }
bool ThreadRef::IsAlive() const {
  return state_->phase() == ThreadState::Phase::kStarted;
}

void ThreadRef::Join() const { Join(absl::InfiniteDuration()); }

bool ThreadRef::Join(absl::Duration timeout) const {
  if (const ThreadState::Phase phase = state_->phase();
      phase == ThreadState::Phase::kNew ||
      phase == ThreadState::Phase::kFailed) {
    pyconc::internal::Misuse("RuntimeError",
                             "cannot join thread before it is started");
  }
  if (state_.get() == current_state) {
    pyconc::internal::Misuse("RuntimeError", "cannot join current thread");
  }
  if (state_->dummy()) {
    pyconc::internal::Misuse("RuntimeError", "cannot join a dummy thread");
  }
  return state_->WaitFinished(timeout);
}

Thread::Thread(ThreadOptions options) : Thread(std::move(options), Target()) {}

Thread::Thread(ThreadOptions options, Target target)
    : ThreadRef(std::make_shared<ThreadState>(
          options.name.empty() ? NewName("Thread-") : std::move(options.name),
          options.daemon.has_value() ? *options.daemon
                                     : CurrentState().daemon(),
          /*dummy=*/false)),
      target_(std::move(target)),
      runs_subclass_(target_ == nullptr) {}

Thread::~Thread() {
  if (runs_subclass_ && state()->phase() == ThreadState::Phase::kStarted) {
    pyconc::internal::Misuse(
        "RuntimeError",
        absl::StrCat(
            "Thread subclass '", name(),
            "' destroyed while running; Join() it before it goes away"));
  }
}

absl::Status Thread::Start() {
  if (!state()->MarkStarted()) {
    pyconc::internal::Misuse("RuntimeError",
                             "threads can only be started once");
  }
  static const bool exit_handler_installed =
      std::atexit(&JoinNonDaemonThreadsAtExit) == 0;
  (void)exit_handler_installed;
  Registry::Get().Add(state());
  auto* start = new StartArgs{state(), std::move(target_),
                              runs_subclass_ ? this : nullptr};
  int error = injected_create_error.load(std::memory_order_relaxed);
  if (error == 0) {
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    error = pthread_create(&thread, &attributes, &Thread::Bootstrap, start);
    pthread_attr_destroy(&attributes);
  }
  if (error == 0) return absl::OkStatus();
  delete start;
  Registry::Get().Remove(*state());
  state()->MarkFailed();
  // Python's message, with the reason it does not give.
  return MakeError(
      PythonError::kRuntimeError,
      absl::StrCat("can't start new thread (", ErrnoText(error), ")"));
}

void* Thread::Bootstrap(void* arg) {
  std::unique_ptr<StartArgs> start(static_cast<StartArgs*>(arg));
  const std::shared_ptr<ThreadState> state = std::move(start->state);
  Target target = std::move(start->target);
  Thread* const subclass = start->subclass;
  start.reset();
  current_state = state.get();
  state->Publish(OsIdent(), OsNativeId());
  // The kernel keeps 15 bytes of a thread's name; debuggers and `top -H` show
  // it.
  const std::string os_name = state->name().substr(0, 15);
  pthread_setname_np(pthread_self(), os_name.c_str());
  const std::string name = state->name();
  trace::NameThisThread(name);
  {
    trace::Slice body("thread", name);
    try {
      if (subclass != nullptr) {
        subclass->Run();
      } else {
        std::move(target)(state->stop_source().get_token());
      }
    } catch (...) {
      ExceptHook({std::current_exception(), ThreadRef(state)});
    }
  }
  // Release the target's captured arguments and the thread's Local values
  // before joiners wake, as Python drops its reference to the target and the
  // thread's locals before join() returns.
  target = nullptr;
  sync::internal::DestroyThisThreadsLocals();
  Registry::Get().Remove(*state);
  state->MarkFinished();
  current_state = nullptr;
  return nullptr;
}

void Thread::set_daemon(bool daemon) { state()->set_daemon(daemon); }

bool Thread::RequestStop() { return state()->stop_source().request_stop(); }

std::stop_token Thread::stop_token() const {
  return state()->stop_source().get_token();
}

ThreadRef CurrentThread() {
  return ThreadRef(CurrentState().shared_from_this());
}
ThreadRef MainThread() { return ThreadRef(Registry::Get().main_thread()); }
int ActiveCount() { return Registry::Get().Count(); }
std::vector<ThreadRef> Enumerate() { return Registry::Get().Snapshot(); }
uint64_t GetIdent() { return OsIdent(); }
int64_t GetNativeId() { return OsNativeId(); }

std::string DescribeException(const std::exception_ptr& exception) {
  if (exception == nullptr) return "no exception";
  try {
    std::rethrow_exception(exception);
  } catch (const std::exception& e) {
    return absl::StrCat(Demangle(typeid(e).name()), ": ", e.what());
  } catch (...) {
    const std::type_info* type = abi::__cxa_current_exception_type();
    return type == nullptr ? "unknown exception" : Demangle(type->name());
  }
}

void DefaultExceptHook(const ExceptHookArgs& args) {
  const std::string report =
      absl::StrCat("Exception in thread ", args.thread.name(), ":\n",
                   DescribeException(args.exception), "\n");
  Report(report);
}

ExceptHookFunction SetExceptHook(ExceptHookFunction hook) {
  absl::MutexLock lock(&except_hook_mu);
  ExceptHookFunction previous = std::move(InstalledExceptHook());
  InstalledExceptHook() =
      hook ? std::move(hook) : ExceptHookFunction(&DefaultExceptHook);
  return previous;
}

void ExceptHook(const ExceptHookArgs& args) {
  ExceptHookFunction hook;
  {
    absl::MutexLock lock(&except_hook_mu);
    hook = InstalledExceptHook();
  }
  try {
    hook(args);
  } catch (...) {
    // As Python does when threading.excepthook itself fails: report both.
    DefaultExceptHook(args);
    DefaultExceptHook({std::current_exception(), args.thread});
  }
}

namespace {
// Registers the main thread while static initialization runs on it.
const bool main_thread_registered = (Registry::Get(), true);
}  // namespace

}  // namespace pyconc::threading
