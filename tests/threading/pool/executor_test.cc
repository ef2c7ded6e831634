// ThreadPoolExecutor: the behaviours of CPython's test_thread_pool.py,
// test_shutdown.py and the executor tests of test_concurrent_futures, plus
// stress with many submitters.
#include "threading/pool/executor.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/threading/pool/test_util.h"
#include "threading/pool/future.h"
#include "threading/pool/wait.h"
#include "threading/thread/thread.h"

namespace pyconc::futures {
namespace {

using ::testing::ElementsAre;
using ::testing::MatchesRegex;

int Mul(int x, int y) { return x * y; }

using testing::Gate;
using testing::HookCapture;
using testing::SubmitGated;

TEST(ThreadPoolExecutorTest, SubmitReturnsTheResult) {
  ThreadPoolExecutor pool({.max_workers = 2});
  absl::StatusOr<Future<int>> f = pool.Submit(Mul, 2, 8);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->Result(), 16);
}

TEST(ThreadPoolExecutorTest, SubmitTakesMoveOnlyArgumentsAndResults) {
  ThreadPoolExecutor pool({.max_workers = 1});
  Future<std::unique_ptr<int>> f = *pool.Submit(
      [](std::unique_ptr<int> p) { return std::make_unique<int>(*p + 1); },
      std::make_unique<int>(41));
  EXPECT_EQ(*f.Result(), 42);
}

TEST(ThreadPoolExecutorTest, VoidTask) {
  ThreadPoolExecutor pool({.max_workers = 1});
  std::atomic<bool> ran{false};
  Future<void> f = *pool.Submit([&ran] { ran = true; });
  f.Result();
  EXPECT_TRUE(ran);
}

TEST(ThreadPoolExecutorTest, TaskExceptionIsRethrownByResult) {
  ThreadPoolExecutor pool({.max_workers = 1});
  Future<int> f =
      *pool.Submit([]() -> int { throw std::invalid_argument("bad"); });
  EXPECT_THROW(f.Result(), std::invalid_argument);
  EXPECT_NE(f.Exception(), nullptr);
}

TEST(ThreadPoolExecutorTest, FutureIsRunningWhileTheTaskRuns) {
  Gate gate;
  ThreadPoolExecutor pool({.max_workers = 1});
  Future<int> f = SubmitGated(pool, gate, 1);
  gate.started.WaitForNotification();
  EXPECT_TRUE(f.Running());
  EXPECT_FALSE(f.Cancel()) << "a running call cannot be cancelled";
  gate.release.Notify();
  EXPECT_EQ(f.Result(), 1);
}

TEST(ThreadPoolExecutorTest, CancelledQueuedCallNeverRuns) {
  absl::Notification release;
  ThreadPoolExecutor pool({.max_workers = 1});
  std::atomic<int> ran{0};
  Future<void> blocker = *pool.Submit([&] { release.WaitForNotification(); });
  Future<void> queued = *pool.Submit([&] { ++ran; });
  EXPECT_TRUE(queued.Cancel());
  release.Notify();
  pool.Shutdown();
  EXPECT_EQ(ran.load(), 0);
  EXPECT_THROW(queued.Result(), CancelledError);
}

TEST(ThreadPoolExecutorTest, CallAndArgumentsAreReleasedOnceItRan) {
  // CPython's test_no_stale_references: the pool keeps nothing of a call
  // that has finished, even while its Future lives on.
  auto argument = std::make_shared<int>(1);
  ThreadPoolExecutor pool({.max_workers = 1});
  Future<int> f =
      *pool.Submit([](std::shared_ptr<int> p) { return *p; }, argument);
  EXPECT_EQ(f.Result(), 1);
  EXPECT_EQ(argument.use_count(), 1);
}

TEST(ThreadPoolExecutorTest, CallbackAddedWhileCompletingRunsExactlyOnce) {
  ThreadPoolExecutor pool({.max_workers = 2});
  std::atomic<int> calls{0};
  std::vector<Future<int>> futures;
  for (int i = 0; i < 2000; ++i) {
    futures.push_back(*pool.Submit(Mul, i, 1));
    futures.back().AddDoneCallback([&calls](const Future<int>&) { ++calls; });
  }
  pool.Shutdown();  // Result() may return before the callbacks ran.
  EXPECT_EQ(calls.load(), 2000);
}

TEST(ThreadPoolExecutorTest, CallbackRunsOnTheWorker) {
  Gate gate;
  ThreadPoolExecutor pool({.max_workers = 1, .thread_name_prefix = "cb"});
  Future<int> f = SubmitGated(pool, gate, 1);
  absl::Mutex mu;
  std::string callback_thread;
  f.AddDoneCallback([&](const Future<int>&) {
    absl::MutexLock lock(&mu);
    callback_thread = threading::CurrentThread().name();
  });
  gate.release.Notify();
  pool.Shutdown();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(callback_thread, "cb_0");
}

TEST(ThreadPoolExecutorTest, MapYieldsResultsInInputOrder) {
  ThreadPoolExecutor pool({.max_workers = 4});
  std::vector<int> inputs;
  for (int i = 0; i < 50; ++i) inputs.push_back(i);
  std::vector<int> results;
  for (absl::StatusOr<int> r : pool.Map([](int x) { return x * x; }, inputs)) {
    ASSERT_TRUE(r.ok()) << r.status();
    results.push_back(*r);
  }
  ASSERT_EQ(results.size(), inputs.size());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(results[i], i * i);
}

TEST(ThreadPoolExecutorTest, MapOfAVoidFunctionYieldsMonostates) {
  ThreadPoolExecutor pool({.max_workers = 2});
  std::atomic<int> sum{0};
  int count = 0;
  for (absl::StatusOr<std::monostate> r :
       pool.Map([&sum](int x) { sum += x; }, std::vector<int>{1, 2, 3})) {
    EXPECT_TRUE(r.ok());
    ++count;
  }
  EXPECT_EQ(count, 3);
  EXPECT_EQ(sum.load(), 6);
}

TEST(ThreadPoolExecutorTest, MapOfNothingYieldsNothing) {
  ThreadPoolExecutor pool({.max_workers = 1});
  int count = 0;
  for (absl::StatusOr<int> r :
       pool.Map([](int x) { return x; }, std::vector<int>{})) {
    (void)r;
    ++count;
  }
  EXPECT_EQ(count, 0);
}

TEST(ThreadPoolExecutorTest, MapRaisesAtTheFailingItem) {
  ThreadPoolExecutor pool({.max_workers = 2});
  MapResults<int> results = pool.Map(
      [](int x) {
        if (x == 2) throw std::runtime_error("two");
        return x;
      },
      std::vector<int>{0, 1, 2, 3});
  EXPECT_EQ(**results.Next(), 0);
  EXPECT_EQ(**results.Next(), 1);
  EXPECT_THROW(results.Next(), std::runtime_error);
  EXPECT_FALSE(results.Next().has_value()) << "the rest was cancelled";
}

TEST(ThreadPoolExecutorTest, MapTimeoutCancelsTheRest) {
  absl::Notification release;
  std::atomic<int> ran{0};
  {
    ThreadPoolExecutor pool({.max_workers = 1});
    const absl::Time start = absl::Now();
    MapResults<int> results = pool.Map(
        [&](int x) {
          ++ran;
          if (x == 0) release.WaitForNotification();
          return x;
        },
        std::vector<int>{0, 1, 2, 3}, {.timeout = absl::Milliseconds(30)});
    std::optional<absl::StatusOr<int>> first = results.Next();
    EXPECT_GE(absl::Now() - start, absl::Milliseconds(30));
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->status().code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_THAT(std::string(first->status().message()),
                ::testing::StartsWith("TimeoutError"));
    EXPECT_FALSE(results.Next().has_value());
    release.Notify();
  }
  EXPECT_EQ(ran.load(), 1) << "the queued calls were cancelled";
}

TEST(ThreadPoolExecutorTest, MapAfterShutdownYieldsOneRuntimeError) {
  ThreadPoolExecutor pool({.max_workers = 1});
  pool.Shutdown();
  std::vector<absl::Status> statuses;
  for (absl::StatusOr<int> r :
       pool.Map([](int x) { return x; }, std::vector<int>{1, 2})) {
    statuses.push_back(r.status());
  }
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ThreadPoolExecutorTest, SubmitAfterShutdownIsRuntimeError) {
  ThreadPoolExecutor pool({.max_workers = 1});
  pool.Shutdown();
  absl::StatusOr<Future<int>> f = pool.Submit(Mul, 2, 5);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.status().message(),
            "RuntimeError: cannot schedule new futures after shutdown");
}

TEST(ThreadPoolExecutorTest, ShutdownWaitRunsEverythingQueued) {
  std::atomic<int> ran{0};
  ThreadPoolExecutor pool({.max_workers = 2});
  std::vector<Future<void>> futures;
  for (int i = 0; i < 100; ++i) futures.push_back(*pool.Submit([&] { ++ran; }));
  pool.Shutdown();
  EXPECT_EQ(ran.load(), 100);
  for (const Future<void>& f : futures) EXPECT_TRUE(f.Done());
}

TEST(ThreadPoolExecutorTest, DestructorWaitsForQueuedCalls) {
  std::atomic<int> ran{0};
  {
    ThreadPoolExecutor pool({.max_workers = 3});
    for (int i = 0; i < 50; ++i) (void)pool.Submit([&] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 50);
}

TEST(ThreadPoolExecutorTest, ShutdownNoWaitReturnsWhileACallRuns) {
  Gate gate;
  ThreadPoolExecutor pool({.max_workers = 1});
  Future<int> f = SubmitGated(pool, gate, 5);
  gate.started.WaitForNotification();
  pool.Shutdown({.wait = false});
  EXPECT_FALSE(f.Done());
  gate.release.Notify();
  EXPECT_EQ(f.Result(), 5);
}

TEST(ThreadPoolExecutorTest, ShutdownCancelFuturesCancelsTheQueuedOnes) {
  Gate gate;
  ThreadPoolExecutor pool({.max_workers = 1});
  Future<int> running = SubmitGated(pool, gate, 1);
  gate.started.WaitForNotification();
  std::vector<Future<int>> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(*pool.Submit(Mul, i, 2));
  pool.Shutdown({.wait = false, .cancel_futures = true});
  for (const Future<int>& f : queued) EXPECT_TRUE(f.Cancelled());
  EXPECT_FALSE(running.Cancelled());
  gate.release.Notify();
  pool.Shutdown();
  EXPECT_EQ(running.Result(), 1);
}

TEST(ThreadPoolExecutorTest, ShutdownTwiceIsHarmless) {
  ThreadPoolExecutor pool({.max_workers = 1});
  EXPECT_EQ(pool.Submit(Mul, 3, 3)->Result(), 9);
  pool.Shutdown();
  pool.Shutdown({.wait = false});
  pool.Shutdown();
}

TEST(ThreadPoolExecutorTest, InitializerRunsInEveryWorkerFirst) {
  thread_local bool initialized = false;
  ThreadPoolExecutor pool(
      {.max_workers = 3, .initializer = [] { initialized = true; }});
  std::vector<Future<bool>> futures;
  for (int i = 0; i < 20; ++i) {
    futures.push_back(*pool.Submit([] { return initialized; }));
  }
  for (const Future<bool>& f : futures) EXPECT_TRUE(f.Result());
}

TEST(ThreadPoolExecutorTest, FailingInitializerBreaksTheExecutor) {
  HookCapture hook;
  ThreadPoolExecutor pool({.max_workers = 2, .initializer = [] {
                             throw std::runtime_error("init failed");
                           }});
  Future<int> f = *pool.Submit(Mul, 1, 2);
  EXPECT_THROW(
      {
        try {
          f.Result();
        } catch (const BrokenExecutor& e) {
          EXPECT_THAT(e.what(), ::testing::StartsWith("BrokenExecutor: "));
          throw;
        }
      },
      BrokenExecutor);
  absl::StatusOr<Future<int>> later = pool.Submit(Mul, 1, 2);
  EXPECT_EQ(later.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(later.status().message()),
              ::testing::StartsWith("BrokenExecutor: "));
  pool.Shutdown();
  EXPECT_THAT(hook.reports(),
              ::testing::Contains("std::runtime_error: init failed"));
}

TEST(ThreadPoolExecutorTest, IdleWorkerIsReused) {
  ThreadPoolExecutor pool({.max_workers = 8});
  EXPECT_EQ(pool.Submit(Mul, 21, 2)->Result(), 42);
  EXPECT_EQ(pool.Submit(Mul, 6, 7)->Result(), 42);
  EXPECT_EQ(pool.Submit(Mul, 3, 14)->Result(), 42);
  EXPECT_EQ(pool.num_threads(), 1);
}

TEST(ThreadPoolExecutorTest, MaxWorkersIsRespected) {
  absl::Notification release;
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  ThreadPoolExecutor pool({.max_workers = 3});
  std::vector<Future<void>> futures;
  for (int i = 0; i < 12; ++i) {
    futures.push_back(*pool.Submit([&] {
      const int now = ++running;
      int seen = peak.load();
      while (now > seen && !peak.compare_exchange_weak(seen, now)) {
      }
      release.WaitForNotification();
      --running;
    }));
  }
  EXPECT_EQ(pool.num_threads(), 3) << "one worker per Submit, up to the max";
  release.Notify();
  for (const Future<void>& f : futures) f.Result();
  EXPECT_LE(peak.load(), 3);
  EXPECT_EQ(pool.num_threads(), 3);
}

TEST(ThreadPoolExecutorTest, DefaultMaxWorkersIsCoresPlusFourUpTo32) {
  ThreadPoolExecutor pool;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  EXPECT_EQ(pool.max_workers(), std::min(32, cores + 4));
}

TEST(ThreadPoolExecutorTest, WorkersAreNamedAfterThePrefix) {
  ThreadPoolExecutor named(
      {.max_workers = 1, .thread_name_prefix = "SpecialPool"});
  EXPECT_EQ(
      named.Submit([] { return threading::CurrentThread().name(); })->Result(),
      "SpecialPool_0");
  ThreadPoolExecutor unnamed({.max_workers = 1});
  EXPECT_THAT(unnamed.Submit([] { return threading::CurrentThread().name(); })
                  ->Result(),
              MatchesRegex("ThreadPoolExecutor-[0-9]+_0"));
  EXPECT_TRUE(
      unnamed.Submit([] { return threading::CurrentThread().daemon(); })
          ->Result());
}

TEST(ThreadPoolExecutorTest, TaskWaitingOnAnotherTaskGrowsThePool) {
  ThreadPoolExecutor pool({.max_workers = 2});
  Future<int> outer = *pool.Submit([&pool] {
    Future<int> inner = *pool.Submit(Mul, 6, 7);
    return inner.Result();
  });
  EXPECT_EQ(outer.Result(), 42);
  EXPECT_EQ(pool.num_threads(), 2);
}

TEST(ThreadPoolExecutorTest, ChainsOfNestedTasksComplete) {
  ThreadPoolExecutor pool({.max_workers = 8});
  std::function<int(int)> depth = [&](int n) -> int {
    if (n == 0) return 0;
    return pool.Submit(depth, n - 1)->Result() + 1;
  };
  EXPECT_EQ(pool.Submit(depth, 7)->Result(), 7);
}

TEST(ThreadPoolExecutorTest, ManySubmittersAtOnce) {
  constexpr int kSubmitters = 8;
  constexpr int kPerSubmitter = 2000;
  ThreadPoolExecutor pool({.max_workers = 4});
  std::atomic<int64_t> sum{0};
  std::deque<threading::Thread> submitters;
  for (int s = 0; s < kSubmitters; ++s) {
    submitters.emplace_back([&pool, &sum, s] {
      std::vector<Future<int>> futures;
      for (int i = 0; i < kPerSubmitter; ++i) {
        futures.push_back(*pool.Submit(Mul, s, i));
      }
      for (const Future<int>& f : futures) sum += f.Result();
    });
    EXPECT_TRUE(submitters.back().Start().ok());
  }
  for (threading::Thread& t : submitters) t.Join();
  int64_t expected = 0;
  for (int s = 0; s < kSubmitters; ++s) {
    for (int i = 0; i < kPerSubmitter; ++i) expected += s * i;
  }
  EXPECT_EQ(sum.load(), expected);
  EXPECT_LE(pool.num_threads(), 4);
}

TEST(ThreadPoolExecutorTest, SubmitRacingShutdownEitherFailsOrCompletes) {
  for (int round = 0; round < 20; ++round) {
    ThreadPoolExecutor pool({.max_workers = 2});
    std::atomic<int> accepted{0};
    std::atomic<int> completed{0};
    std::deque<threading::Thread> submitters;
    for (int s = 0; s < 3; ++s) {
      submitters.emplace_back([&] {
        for (int i = 0; i < 200; ++i) {
          absl::StatusOr<Future<int>> f = pool.Submit(Mul, i, 1);
          if (!f.ok()) {
            EXPECT_EQ(f.status().code(), absl::StatusCode::kFailedPrecondition);
            return;
          }
          ++accepted;
          if (f->Result() == i) ++completed;
        }
      });
      EXPECT_TRUE(submitters.back().Start().ok());
    }
    pool.Shutdown({.wait = false});
    for (threading::Thread& t : submitters) t.Join();
    EXPECT_EQ(accepted.load(), completed.load());
  }
}

TEST(ThreadPoolExecutorTest, AsCompletedOverPoolTasks) {
  ThreadPoolExecutor pool({.max_workers = 3});
  std::vector<Future<int>> futures;
  for (int i = 0; i < 30; ++i) futures.push_back(*pool.Submit(Mul, i, i));
  int64_t sum = 0;
  int count = 0;
  for (absl::StatusOr<Future<int>> f : AsCompleted(futures)) {
    sum += f->Result();
    ++count;
  }
  EXPECT_EQ(count, 30);
  EXPECT_EQ(sum, 8555);
}

}  // namespace
}  // namespace pyconc::futures
