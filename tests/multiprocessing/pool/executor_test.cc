// ProcessPoolExecutor: the behaviours of CPython's test_concurrent_futures for
// processes (results, ordering, worker exceptions, a dying worker breaking the
// pool, max_tasks_per_child, shutdown with cancel_futures).
#include "multiprocessing/pool/executor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "multiprocessing/process/queue.h"
#include "tests/multiprocessing/process/no_orphans.h"

namespace pyconc::futures {
namespace {

using ::testing::HasSubstr;
using ProcessPoolTest = multiprocessing::testing::NoOrphansTest;

int Square(int x) { return x * x; }
std::string Join(std::string a, std::vector<int> b) {
  for (int v : b) a += std::to_string(v);
  return a;
}
int Fail(std::string message) { throw std::invalid_argument(message); }
int Pid() { return static_cast<int>(::getpid()); }
// Workload, not synchronization: a call that cannot finish sooner.
int SleepMs(int ms) {
  absl::SleepFor(absl::Milliseconds(ms));
  return ms;
}
int DieBySignal() {
  ::raise(SIGKILL);
  return 0;
}
void Nothing() {}
// Blocks until the test writes a byte into the FIFO at `path`.
int WaitForFifo(std::string path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  char byte = 0;
  if (fd >= 0 && ::read(fd, &byte, 1) == 1) byte = 1;
  ::close(fd);
  return byte;
}
bool IsEven(int x) { return x % 2 == 0; }
void ThrowingInitializer() { throw std::runtime_error("initializer failed"); }

TEST_F(ProcessPoolTest, SubmitReturnsTheResultFromAnotherProcess) {
  ProcessPoolExecutor pool({.max_workers = 2});
  EXPECT_EQ(pool.max_workers(), 2);
  absl::StatusOr<Future<int>> f = pool.Submit(&Square, 7);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->Result(), 49);
  absl::StatusOr<Future<int>> pid = pool.Submit(&Pid);
  EXPECT_NE(pid->Result(), ::getpid());
  auto joined = pool.Submit(&Join, std::string("x"), std::vector<int>{1, 2});
  EXPECT_EQ(joined->Result(), "x12");
  auto nothing = pool.Submit(&Nothing);
  nothing->Result();
  auto lambda = pool.Submit([](int a, int b) { return a - b; }, 10, 3);
  EXPECT_EQ(lambda->Result(), 7);
}

// Python's default max_workers is os.process_cpu_count() (3.13).
TEST_F(ProcessPoolTest, DefaultWorkersAreTheCpusThisProcessMayUse) {
  ProcessPoolExecutor pool;
  EXPECT_EQ(pool.max_workers(), multiprocessing::ProcessCpuCount());
}

TEST_F(ProcessPoolTest, ManySubmitsEachGetTheirOwnResult) {
  ProcessPoolExecutor pool({.max_workers = 2});
  std::vector<Future<int>> futures;
  for (int i = 0; i < 500; ++i) futures.push_back(*pool.Submit(&Square, i));
  for (int i = 0; i < 500; ++i) EXPECT_EQ(futures[i].Result(), i * i);
}

TEST_F(ProcessPoolTest, AWorkersExceptionReachesResultWithItsMessage) {
  ProcessPoolExecutor pool({.max_workers = 1});
  Future<int> f = *pool.Submit(&Fail, std::string("bad input"));
  try {
    f.Result();
    FAIL() << "no exception";
  } catch (const RemoteError& e) {
    EXPECT_THAT(e.what(), HasSubstr("std::invalid_argument: bad input"));
  }
  EXPECT_NE(f.Exception(), nullptr);
  // The pool is not broken by it.
  EXPECT_EQ(pool.Submit(&Square, 3)->Result(), 9);
}

TEST_F(ProcessPoolTest, MapGivesResultsInInputOrderForAnyChunksize) {
  ProcessPoolExecutor pool({.max_workers = 2});
  std::vector<int> inputs;
  for (int i = 0; i < 100; ++i) inputs.push_back(i);
  for (int chunksize : {1, 7, 100, 1000}) {
    std::vector<int> got;
    for (absl::StatusOr<int> r :
         pool.Map(&Square, inputs, {.chunksize = chunksize})) {
      ASSERT_TRUE(r.ok()) << r.status();
      got.push_back(*r);
    }
    ASSERT_EQ(got.size(), inputs.size()) << chunksize;
    for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i], i * i);
  }
}

TEST_F(ProcessPoolTest, BoolResultsCrossSingleAndChunked) {
  ProcessPoolExecutor pool({.max_workers = 1});
  EXPECT_TRUE(pool.Submit(&IsEven, 4)->Result());
  std::vector<bool> got;
  for (absl::StatusOr<bool> r :
       pool.Map(&IsEven, std::vector<int>{1, 2, 3}, {.chunksize = 2})) {
    got.push_back(r.value());
  }
  EXPECT_THAT(got, ::testing::ElementsAre(false, true, false));
}

TEST_F(ProcessPoolTest, MapRethrowsAWorkersExceptionAtItsItem) {
  ProcessPoolExecutor pool({.max_workers = 1});
  std::vector<std::string> inputs = {"a", "b"};
  auto results = pool.Map(&Fail, inputs);
  EXPECT_THROW(
      {
        for (absl::StatusOr<int> r : results) (void)r;
      },
      RemoteError);
}

TEST_F(ProcessPoolTest, MapTimesOutWithTimeoutError) {
  ProcessPoolExecutor pool({.max_workers = 1});
  const absl::Time start = absl::Now();
  std::vector<absl::Status> statuses;
  for (absl::StatusOr<int> r : pool.Map(&SleepMs, std::vector<int>{500, 500},
                                        {.timeout = absl::Milliseconds(50)})) {
    statuses.push_back(r.status());
  }
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(statuses[0].message(), HasSubstr("TimeoutError"));
}

TEST_F(ProcessPoolTest, AWorkerDyingMidTaskBreaksThePool) {
  ProcessPoolExecutor pool({.max_workers = 2});
  Future<int> dies = *pool.Submit(&DieBySignal);
  std::vector<Future<int>> pending;
  for (int i = 0; i < 5; ++i) pending.push_back(*pool.Submit(&SleepMs, 2000));
  EXPECT_THROW(dies.Result(), BrokenProcessPool);
  for (const Future<int>& f : pending) {
    // Every call fails at once; none waits for its 2 s.
    EXPECT_THROW(f.Result(), BrokenProcessPool);
  }
  absl::StatusOr<Future<int>> later = pool.Submit(&Square, 1);
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(later.status().message(), HasSubstr("BrokenProcessPool"));
}

TEST_F(ProcessPoolTest, KillingAWorkerFailsEveryPendingFuture) {
  ProcessPoolExecutor pool({.max_workers = 1});
  std::vector<Future<int>> futures;
  for (int i = 0; i < 50; ++i) futures.push_back(*pool.Submit(&SleepMs, 2000));
  const std::vector<pid_t> pids = pool.WorkerPids();
  ASSERT_EQ(pids.size(), 1u);
  ASSERT_EQ(::kill(pids[0], SIGKILL), 0);
  for (const Future<int>& f : futures) {
    try {
      f.Result();
      FAIL() << "a call survived its worker";
    } catch (const BrokenProcessPool& e) {
      EXPECT_THAT(e.what(), HasSubstr("terminated abruptly"));
    }
  }
  EXPECT_FALSE(pool.Submit(&Square, 1).ok());
}

TEST_F(ProcessPoolTest, MaxTasksPerChildReplacesWorkers) {
  ProcessPoolExecutor pool({.max_workers = 1, .max_tasks_per_child = 2});
  std::vector<Future<int>> futures;
  for (int i = 0; i < 6; ++i) futures.push_back(*pool.Submit(&Pid));
  std::map<int, int> calls_by_pid;
  for (const Future<int>& f : futures) ++calls_by_pid[f.Result()];
  EXPECT_EQ(calls_by_pid.size(), 3u);
  for (const auto& [pid, calls] : calls_by_pid) EXPECT_EQ(calls, 2);
}

TEST_F(ProcessPoolTest, ShutdownWithCancelFuturesCancelsWhatNoWorkerHas) {
  const std::string fifo =
      std::string(std::getenv("TEST_TMPDIR")) + "/shutdown_fifo";
  ::unlink(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ProcessPoolExecutor pool({.max_workers = 1});
  std::vector<Future<int>> futures;
  // The first call holds the only worker until the test lets it go.
  futures.push_back(*pool.Submit(&WaitForFifo, fifo));
  for (int i = 0; i < 400; ++i) futures.push_back(*pool.Submit(&Square, i));
  // Opening the writer waits for the worker to open the reader: from then on
  // the first call is running, and the others have not started.
  const int writer = ::open(fifo.c_str(), O_WRONLY);
  ASSERT_GE(writer, 0);
  pool.Shutdown({.wait = false, .cancel_futures = true});
  ASSERT_EQ(::write(writer, "x", 1), 1);
  ::close(writer);
  pool.Shutdown({.wait = true});
  // Only the call that had started ran; every other was cancelled.
  int cancelled = 0;
  for (size_t i = 0; i < futures.size(); ++i) {
    EXPECT_TRUE(futures[i].Done());
    if (futures[i].Cancelled()) {
      ++cancelled;
    } else {
      EXPECT_EQ(futures[i].Result(), i == 0 ? 1 : (i - 1) * (i - 1));
    }
  }
  EXPECT_FALSE(futures[0].Cancelled());
  // Only the call that had started ran.
  EXPECT_EQ(cancelled, 400);
  absl::StatusOr<Future<int>> later = pool.Submit(&Square, 1);
  EXPECT_EQ(later.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(later.status().message(), HasSubstr("after shutdown"));
}

TEST_F(ProcessPoolTest, ShutdownWithWaitRunsEverythingQueued) {
  ProcessPoolExecutor pool({.max_workers = 2});
  std::vector<Future<int>> futures;
  for (int i = 0; i < 200; ++i) futures.push_back(*pool.Submit(&Square, i));
  pool.Shutdown();
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(futures[i].Done());
    EXPECT_EQ(futures[i].Result(), i * i);
  }
  pool.Shutdown();  // Harmless.
}

TEST_F(ProcessPoolTest, AFailingInitializerBreaksThePool) {
  ProcessPoolExecutor pool(
      {.max_workers = 1, .initializer = &ThrowingInitializer});
  absl::StatusOr<Future<int>> f = pool.Submit(&Square, 2);
  if (f.ok()) {
    EXPECT_THROW(f->Result(), BrokenProcessPool);
  } else {
    EXPECT_EQ(f.status().code(), absl::StatusCode::kUnavailable);
  }
}

int initialized_value = 0;
void Initialize(int a, std::string b) {
  initialized_value = a + static_cast<int>(b.size());
}
int ReadInitialized() { return initialized_value; }
void ReportToQueue(multiprocessing::Queue<int> queue) {
  (void)queue.Put(static_cast<int>(::getpid()));
}

// CPython test_concurrent_futures/test_init.py
// (InitializerMixin.test_initializer): initializer(*initargs) runs in every
// worker before its calls.
TEST_F(ProcessPoolTest, AnInitializerWithInitargsRunsInEveryWorker) {
  ProcessPoolExecutor pool(
      {.max_workers = 2, .initializer = {&Initialize, 40, std::string("ab")}});
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(pool.Submit(&ReadInitialized)->Result(), 42);
  }
}

TEST_F(ProcessPoolTest, AQueueCrossesAsAnInitargToEveryReplacement) {
  multiprocessing::Queue<int> queue;
  std::vector<int> call_pids;
  {
    ProcessPoolExecutor pool({.max_workers = 2,
                              .initializer = {&ReportToQueue, queue},
                              .max_tasks_per_child = 1});
    std::vector<Future<int>> futures;
    for (int i = 0; i < 3; ++i) futures.push_back(*pool.Submit(&Pid));
    for (const Future<int>& f : futures) call_pids.push_back(f.Result());
  }
  // Every worker has exited, so what it put is in the queue.
  std::set<int> initialized;
  for (absl::StatusOr<int> pid = queue.GetNowait(); pid.ok();
       pid = queue.GetNowait()) {
    initialized.insert(*pid);
  }
  for (int pid : call_pids) EXPECT_EQ(initialized.count(pid), 1u) << pid;
}

// CPython 3.14 test_concurrent_futures/test_process_pool.py
// (test_terminate_workers, test_kill_workers): the running call fails with
// BrokenProcessPool, queued calls are cancelled, the pool takes no more.
TEST_F(ProcessPoolTest, TerminateAndKillWorkersStopTheRunningCalls) {
  for (const bool kill : {false, true}) {
    const std::string fifo = std::string(std::getenv("TEST_TMPDIR")) +
                             "/terminate_fifo" + (kill ? "_kill" : "");
    ::unlink(fifo.c_str());
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    ProcessPoolExecutor pool({.max_workers = 1});
    Future<int> busy = *pool.Submit(&WaitForFifo, fifo);
    std::vector<Future<int>> queued;
    for (int i = 0; i < 5; ++i) queued.push_back(*pool.Submit(&Square, i));
    // Opening the writer waits for the worker to be in the call.
    const int writer = ::open(fifo.c_str(), O_WRONLY);
    ASSERT_GE(writer, 0);
    if (kill) {
      pool.KillWorkers();
    } else {
      pool.TerminateWorkers();
    }
    try {
      busy.Result();
      FAIL() << "the running call survived";
    } catch (const BrokenProcessPool& e) {
      EXPECT_THAT(e.what(), HasSubstr(kill ? "SIGKILL" : "SIGTERM"));
    }
    // The manager cancels (or fails) them moments after; none runs.
    for (const Future<int>& f : queued) {
      EXPECT_TRUE(f.Wait(absl::InfiniteDuration()));
      EXPECT_TRUE(f.Cancelled() || f.Exception() != nullptr);
    }
    EXPECT_FALSE(pool.Submit(&Square, 1).ok());
    ::close(writer);
  }
}

}  // namespace
}  // namespace pyconc::futures
