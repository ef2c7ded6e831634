// ProcessPoolExecutor: what issue 12 found broken and must never be again:
// big calls, results streamed per call, finished work surviving a crash, the
// running()/cancel() contract, shutdown that returns, every call form Python
// users write, and unserializable arguments failing the Future.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "multiprocessing/pool/executor.h"
#include "multiprocessing/process/connection.h"
#include "tests/multiprocessing/process/no_orphans.h"
#include "threading/pool/wait.h"
#include "threading/thread/thread.h"

namespace pyconc::futures {
namespace {

using ::testing::HasSubstr;
using ExecutorContractTest = multiprocessing::testing::NoOrphansTest;

int Square(int x) { return x * x; }
int Pid() { return static_cast<int>(::getpid()); }
std::string Echo(std::string bytes) { return bytes; }

// `size` bytes that differ from one position and one seed to the next.
std::string Pattern(size_t size, int seed) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<char>((i * 131 + static_cast<size_t>(seed)) % 251);
  }
  return bytes;
}

// In a worker with no descriptor left to make: a large result.
std::string PatternWithoutDescriptors(size_t size, int seed) {
  const rlimit none = {0, 0};
  if (::setrlimit(RLIMIT_NOFILE, &none) != 0) return "setrlimit failed";
  return Pattern(size, seed);
}

// Blocks until the test writes a byte into the FIFO at `path`.
int WaitForFifo(std::string path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  char byte = 0;
  if (fd >= 0 && ::read(fd, &byte, 1) == 1) byte = 1;
  ::close(fd);
  return byte;
}
int WaitThenDie(std::string path) {
  WaitForFifo(path);
  ::raise(SIGKILL);
  return 0;
}

// A gate a worker's call waits at: Opened() returns once the call is in it,
// Release() lets it go.
class Gate {
 public:
  explicit Gate(const std::string& name)
      : path_(std::string(std::getenv("TEST_TMPDIR")) + "/" + name) {
    ::unlink(path_.c_str());
    EXPECT_EQ(::mkfifo(path_.c_str(), 0600), 0);
  }
  ~Gate() {
    if (writer_ >= 0) ::close(writer_);
    ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  // Waits until a worker has opened the FIFO (its call is running).
  void Opened() { writer_ = ::open(path_.c_str(), O_WRONLY); }
  void Release() {
    if (writer_ < 0) Opened();
    EXPECT_EQ(::write(writer_, "x", 1), 1);
    ::close(writer_);
    writer_ = -1;
  }

 private:
  const std::string path_;
  int writer_ = -1;
};

// 1. CPython test_concurrent_futures/test_deadlock.py
// (ExecutorDeadlockTest.test_crash_big_data): arguments and results bigger
// than any socket buffer, several in flight, with one and two workers.
TEST_F(ExecutorContractTest, BigArgumentsAndResultsNeverDeadlock) {
  for (const auto& [workers, calls, size] :
       std::vector<std::tuple<int, int, size_t>>{{1, 2, 256 << 10},
                                                 {1, 20, 1 << 20},
                                                 {1, 2, 64 << 20},
                                                 {2, 3, 64 << 20}}) {
    ProcessPoolExecutor pool({.max_workers = workers});
    std::vector<Future<std::string>> futures;
    for (int i = 0; i < calls; ++i) {
      futures.push_back(*pool.Submit(&Echo, std::string(size, 'a' + i % 26)));
    }
    for (int i = 0; i < calls; ++i) {
      const std::string& got = futures[i].Result();
      ASSERT_EQ(got.size(), size);
      EXPECT_EQ(got.front(), 'a' + i % 26);
      EXPECT_EQ(got.back(), 'a' + i % 26);
    }
  }
}

// Large arguments and results cross in shared files that each process
// reuses: sizes that shrink and grow, on two workers, arrive whole and each
// with its own bytes.
TEST_F(ExecutorContractTest,
       LargeArgumentsAndResultsArriveWholeWhateverTheSizes) {
  ProcessPoolExecutor pool({.max_workers = 2});
  const std::vector<size_t> sizes = {8 << 20, 2 << 20,       16 << 20,
                                     3 << 20, (1 << 20) + 1, 12 << 20,
                                     100,     5 << 20};
  for (int round = 0; round < 3; ++round) {
    std::vector<Future<std::string>> futures;
    for (size_t i = 0; i < sizes.size(); ++i) {
      futures.push_back(*pool.Submit(&Echo, Pattern(sizes[i], round * 10 + i)));
    }
    for (size_t i = 0; i < sizes.size(); ++i) {
      EXPECT_TRUE(futures[i].Result() == Pattern(sizes[i], round * 10 + i))
          << "round " << round << ", call " << i;
    }
  }
}

// Without a descriptor for a shared file, a large result crosses through the
// socket instead.
TEST_F(ExecutorContractTest, ALargeResultCrossesWhenTheWorkerHasNoDescriptor) {
#ifdef __SANITIZE_ADDRESS__
  // The asan configuration's UBSan checks a vptr through a pipe of its own:
  // a worker without descriptors cannot run under it.
  GTEST_SKIP() << "needs a worker without descriptors, which UBSan cannot run";
#endif
  ProcessPoolExecutor pool({.max_workers = 1});
  Future<std::string> result =
      *pool.Submit(&PatternWithoutDescriptors, size_t{6} << 20, 7);
  EXPECT_TRUE(result.Result() == Pattern(size_t{6} << 20, 7));
}

// 2. CPython test_concurrent_futures/test_wait.py (test_first_completed): a
// finished call is seen at once, even when its worker is busy with the next.
TEST_F(ExecutorContractTest, AResultArrivesWhileItsWorkerRunsTheNextCall) {
  Gate gate("stream_fifo");
  ProcessPoolExecutor pool({.max_workers = 1});
  Future<int> fast = *pool.Submit(&Square, 3);
  Future<int> slow = *pool.Submit(&WaitForFifo, gate.path());
  gate.Opened();
  auto [done, not_done] = Wait(std::vector<Future<int>>{fast, slow},
                               {.return_when = ReturnWhen::kFirstCompleted});
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0], fast);
  EXPECT_EQ(fast.Result(), 9);
  EXPECT_FALSE(slow.Done());
  gate.Release();
  EXPECT_EQ(slow.Result(), 1);
}

// 3. CPython test_concurrent_futures/test_deadlock.py
// (test_crash_during_func_exec_on_worker): the calls that finished before a
// worker died keep their results; only the unfinished one fails, naming the
// dead worker's pid and signal.
TEST_F(ExecutorContractTest, ACrashKeepsEveryFinishedResult) {
  Gate gate("crash_fifo");
  ProcessPoolExecutor pool({.max_workers = 4});
  const std::vector<pid_t> pids = pool.WorkerPids();
  std::vector<Future<int>> futures;
  for (int i = 0; i < 99; ++i) futures.push_back(*pool.Submit(&Square, i));
  Future<int> dies = *pool.Submit(&WaitThenDie, gate.path());
  for (int i = 0; i < 99; ++i) EXPECT_EQ(futures[i].Result(), i * i);
  gate.Release();
  try {
    dies.Result();
    FAIL() << "the call survived its worker";
  } catch (const BrokenProcessPool& e) {
    EXPECT_THAT(e.what(), HasSubstr("terminated abruptly"));
    EXPECT_THAT(e.what(), HasSubstr("SIGKILL"));
    bool names_a_worker = false;
    for (pid_t pid : pids) {
      names_a_worker =
          names_a_worker || std::string(e.what()).find(absl::StrCat(
                                "pid ", pid, ",")) != std::string::npos;
    }
    EXPECT_TRUE(names_a_worker) << e.what();
  }
  for (int i = 0; i < 99; ++i) EXPECT_EQ(futures[i].Result(), i * i);
  EXPECT_FALSE(pool.Submit(&Square, 1).ok());
}

TEST_F(ExecutorContractTest, AResultSentBeforeTheCrashIsKeptByOneWorker) {
  Gate gate("crash_one_fifo");
  ProcessPoolExecutor pool({.max_workers = 1});
  // Both calls are in the worker's hands at once.
  Future<int> first = *pool.Submit(&Square, 5);
  Future<int> dies = *pool.Submit(&WaitThenDie, gate.path());
  EXPECT_EQ(first.Result(), 25);
  gate.Release();
  EXPECT_THROW(dies.Result(), BrokenProcessPool);
  EXPECT_EQ(first.Result(), 25);
}

// Appends "i\n" to the file at `path` (one write): the call ran.
int Record(std::string path, int i) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0600);
  const std::string line = absl::StrCat(i, "\n");
  const bool written = fd >= 0 && ::write(fd, line.data(), line.size()) ==
                                      static_cast<ssize_t>(line.size());
  ::close(fd);
  return written ? i : -1;
}

// The calls Record() saw run, each as often as it ran.
std::multiset<int> Recorded(const std::string& path) {
  std::multiset<int> runs;
  std::ifstream in(path);
  for (int i; in >> i;) runs.insert(i);
  return runs;
}

// 4. CPython test_concurrent_futures/test_future.py (test_cancel) and
// test_shutdown.py (test_cancel_futures): calls queued behind a busy worker
// are pending and can be cancelled, and a cancelled call never runs. Those
// already sent to the worker too: only the call it has started is running
// (Python would report 2 running, 8 cancellable).
TEST_F(ExecutorContractTest, QueuedCallsStayPendingAndCancellable) {
  Gate gate("cancel_fifo");
  const std::string runs =
      std::string(std::getenv("TEST_TMPDIR")) + "/cancel_runs";
  ::unlink(runs.c_str());
  ProcessPoolExecutor pool({.max_workers = 1});
  Future<int> busy = *pool.Submit(&WaitForFifo, gate.path());
  std::vector<Future<int>> queued;
  for (int i = 0; i < 10; ++i) queued.push_back(*pool.Submit(&Record, runs, i));
  gate.Opened();
  EXPECT_TRUE(busy.Running());
  for (const Future<int>& f : queued) EXPECT_FALSE(f.Running());
  for (int i = 0; i < 10; i += 2) EXPECT_TRUE(queued[i].Cancel()) << i;
  EXPECT_FALSE(busy.Cancel());
  gate.Release();
  EXPECT_EQ(busy.Result(), 1);
  for (int i = 0; i < 10; ++i) {
    if (i % 2 == 0) {
      EXPECT_TRUE(queued[i].Cancelled());
      EXPECT_THROW(queued[i].Result(), CancelledError);
    } else {
      EXPECT_EQ(queued[i].Result(), i);
    }
  }
  EXPECT_EQ(Recorded(runs), (std::multiset<int>{1, 3, 5, 7, 9}));
}

// Cancel() and the worker's claim race for each call: exactly one wins. A
// call whose Cancel() succeeded never runs and its Future is cancelled; one
// whose Cancel() failed is running or done, and runs exactly once.
TEST_F(ExecutorContractTest, ACancelRacingTheWorkersClaimDecidesOnce) {
  constexpr int kCalls = 200;
  for (int round = 0; round < 20; ++round) {
    Gate gate(absl::StrCat("race_fifo_", round));
    const std::string runs =
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/race_runs_", round);
    ::unlink(runs.c_str());
    ProcessPoolExecutor pool({.max_workers = 1});
    Future<int> busy = *pool.Submit(&WaitForFifo, gate.path());
    std::vector<Future<int>> calls;
    for (int i = 0; i < kCalls; ++i) {
      calls.push_back(*pool.Submit(&Record, runs, i));
    }
    gate.Opened();
    std::vector<int> cancelled(kCalls, 0);
    std::vector<int> lost_running_or_done(kCalls, 0);
    absl::Notification go;
    // Cancels every other call just as the worker reaches it: call i once
    // call i - 1 (never cancelled) has started, so that the worker claims
    // call i at about the moment Cancel() tries to stop it.
    threading::Thread canceller([&] {
      go.WaitForNotification();
      for (int i = 1; i < kCalls; i += 2) {
        while (!calls[i - 1].Running() && !calls[i - 1].Done()) {
          ::sched_yield();
        }
        cancelled[i] = calls[i].Cancel() ? 1 : 0;
        if (cancelled[i] == 0) {
          lost_running_or_done[i] = calls[i].Running() || calls[i].Done();
        }
      }
    });
    ASSERT_TRUE(canceller.Start().ok());
    go.Notify();
    gate.Release();
    canceller.Join();
    pool.Shutdown();
    std::multiset<int> expected;
    for (int i = 0; i < kCalls; ++i) {
      ASSERT_TRUE(calls[i].Done()) << i;
      if (cancelled[i] != 0) {
        EXPECT_TRUE(calls[i].Cancelled()) << i;
        EXPECT_THROW(calls[i].Result(), CancelledError);
      } else {
        EXPECT_FALSE(calls[i].Cancelled()) << i;
        EXPECT_EQ(calls[i].Result(), i);
        expected.insert(i);
        if (i % 2 == 1) {
          EXPECT_EQ(lost_running_or_done[i], 1) << i;
        }
      }
    }
    EXPECT_EQ(Recorded(runs), expected) << "round " << round;
  }
}

// CPython test_concurrent_futures/test_deadlock.py (the pending calls of a
// broken pool fail): calls sent ahead to a worker that dies before starting
// them fail with BrokenProcessPool, as every unfinished call of a broken pool
// does; one cancelled before stays cancelled.
TEST_F(ExecutorContractTest, CallsSentAheadFailWhenTheirWorkerDies) {
  Gate gate("sent_ahead_fifo");
  ProcessPoolExecutor pool({.max_workers = 1});
  Future<int> dies = *pool.Submit(&WaitThenDie, gate.path());
  std::vector<Future<int>> queued;
  for (int i = 0; i < 10; ++i) queued.push_back(*pool.Submit(&Square, i));
  gate.Opened();
  EXPECT_TRUE(queued[3].Cancel());
  gate.Release();
  EXPECT_THROW(dies.Result(), BrokenProcessPool);
  for (int i = 0; i < 10; ++i) {
    if (i == 3) {
      EXPECT_THROW(queued[i].Result(), CancelledError);
    } else {
      EXPECT_THROW(queued[i].Result(), BrokenProcessPool) << i;
    }
  }
}

// 5. CPython test_concurrent_futures/test_process_pool.py
// (test_max_tasks_per_child): with several workers each replaced after one
// call, every call runs and Shutdown() returns.
TEST_F(ExecutorContractTest, MaxTasksPerChildWithSeveralWorkersShutsDown) {
  std::set<int> pids;
  {
    ProcessPoolExecutor pool({.max_workers = 3, .max_tasks_per_child = 1});
    std::vector<Future<int>> futures;
    for (int i = 0; i < 6; ++i) futures.push_back(*pool.Submit(&Pid));
    pool.Shutdown();
    for (const Future<int>& f : futures) pids.insert(f.Result());
  }
  // One call per worker: six workers ran them.
  EXPECT_EQ(pids.size(), 6u);
}

// A done callback runs on the pool's manager thread; Shutdown(wait) there
// cannot wait for itself. Python (checked with CPython 3.13) logs
// "RuntimeError: cannot join current thread" from the callback; so does pyconc,
// and neither hangs, even while the owner is destroying the pool.
class HookCapture {
 public:
  HookCapture() {
    previous_ =
        threading::SetExceptHook([this](const threading::ExceptHookArgs& args) {
          absl::MutexLock lock(&mu_);
          text_ += threading::DescribeException(args.exception);
        });
  }
  ~HookCapture() { threading::SetExceptHook(previous_); }
  std::string text() {
    absl::MutexLock lock(&mu_);
    return text_;
  }

 private:
  threading::ExceptHookFunction previous_;
  absl::Mutex mu_;
  std::string text_;
};

TEST_F(ExecutorContractTest, ShutdownFromADoneCallbackIsLoggedNotAHang) {
  HookCapture hook;
  Gate gate("callback_fifo");
  {
    ProcessPoolExecutor pool({.max_workers = 1});
    Future<int> f = *pool.Submit(&WaitForFifo, gate.path());
    f.AddDoneCallback([&](const Future<int>&) { pool.Shutdown(); });
    gate.Release();
    EXPECT_EQ(f.Result(), 1);
  }
  EXPECT_THAT(hook.text(), HasSubstr("cannot join current thread"));
}

TEST_F(ExecutorContractTest, ShutdownFromACallbackWhileTheOwnerDestroysIt) {
  HookCapture hook;
  Gate gate("destroy_fifo");
  absl::Notification destroying;
  {
    ProcessPoolExecutor pool({.max_workers = 1});
    Future<int> f = *pool.Submit(&WaitForFifo, gate.path());
    f.AddDoneCallback([&](const Future<int>&) {
      destroying.WaitForNotification();
      pool.Shutdown();
    });
    gate.Release();
    destroying.Notify();
    // ~ProcessPoolExecutor waits for the manager, which runs the callback.
  }
  EXPECT_THAT(hook.text(), HasSubstr("cannot join current thread"));
}

// 6. Every form a Python user writes: target=f with args=(), captureless
// lambdas with no arguments, functions returning void.
// A call of a few milliseconds: the work itself, not a way to order events.
int SlowSquare(int x) {
  absl::SleepFor(absl::Milliseconds(3));
  return x * x;
}

// Calls are sent to a worker only as far ahead as about a millisecond of its
// recent calls' time, so calls of milliseconds go two at a time: a call that
// blocks holds at most one other behind it while the other worker takes the
// rest (Python's workers share one call queue, so none is held at all).
TEST_F(ExecutorContractTest, ABlockedCallHoldsAtMostOneSlowCallBehindIt) {
  Gate gate("balance_fifo");
  ProcessPoolExecutor pool({.max_workers = 2});
  std::vector<Future<int>> warm;  // Both workers learn what a call takes.
  for (int i = 0; i < 8; ++i) warm.push_back(*pool.Submit(&SlowSquare, i));
  for (Future<int>& f : warm) f.Result();
  Future<int> blocked = *pool.Submit(&WaitForFifo, gate.path());
  gate.Opened();
  std::vector<Future<int>> pending;
  for (int i = 0; i < 10; ++i) pending.push_back(*pool.Submit(&SlowSquare, i));
  int done = 0;
  while (done < 9) {
    auto [now_done, not_done] =
        Wait(pending, {.timeout = absl::Seconds(30),
                       .return_when = ReturnWhen::kFirstCompleted});
    if (now_done.empty()) break;  // The rest are held behind the gate.
    done += static_cast<int>(now_done.size());
    pending = std::move(not_done);
  }
  const bool still_blocked = !blocked.Done();
  gate.Release();
  EXPECT_GE(done, 9) << "of 10 calls done while one call blocks";
  EXPECT_TRUE(still_blocked);
  EXPECT_EQ(blocked.Result(), 1);
  for (Future<int>& f : pending) EXPECT_GE(f.Result(), 0);
}

int FortyTwo() { return 42; }
void NoResult(int) {}

TEST_F(ExecutorContractTest, ZeroArgumentLambdasAndVoidFunctionsRun) {
  ProcessPoolExecutor pool({.max_workers = 1});
  EXPECT_EQ(pool.Submit([] { return 42; })->Result(), 42);
  EXPECT_EQ(pool.Submit(&FortyTwo)->Result(), 42);
  EXPECT_EQ(pool.Submit(FortyTwo)->Result(), 42);
  pool.Submit([] {})->Result();
  pool.Submit(&NoResult, 1)->Result();
  int calls = 0;
  for (absl::StatusOr<std::monostate> r :
       pool.Map(&NoResult, std::vector<int>{1, 2, 3}, {.chunksize = 2})) {
    (void)r;
    ++calls;
  }
  EXPECT_EQ(calls, 3);
}

// 7. CPython test_concurrent_futures/test_process_pool.py (pickling errors
// reach the Future): an argument that cannot cross fails the Future with
// PicklingError; Submit() itself succeeds.
int UsesConnection(const multiprocessing::Connection&) { return 0; }

TEST_F(ExecutorContractTest, AnUnserializableArgumentFailsTheFuture) {
  ProcessPoolExecutor pool({.max_workers = 1});
  auto [a, b] = multiprocessing::Pipe();
  absl::StatusOr<Future<int>> f = pool.Submit(&UsesConnection, a);
  ASSERT_TRUE(f.ok()) << f.status();
  try {
    f->Result();
    FAIL() << "a Connection crossed inside a message";
  } catch (const multiprocessing::internal::PicklingError& e) {
    EXPECT_THAT(e.what(), HasSubstr("pickle.PicklingError"));
  }
  EXPECT_EQ(pool.Submit(&Square, 4)->Result(), 16);
}

}  // namespace
}  // namespace pyconc::futures
