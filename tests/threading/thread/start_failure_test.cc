// What a program sees when the OS cannot create a thread: Python's
// Thread.start() raises RuntimeError("can't start new thread") and
// ThreadPoolExecutor.submit() propagates it; pyconc answers a status with the
// errno's text. The OS's refusal is simulated through the internal seam (root
// is exempt from RLIMIT_NPROC); start_limit_test makes the kernel refuse.

#include <errno.h>

#include <atomic>
#include <memory>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "base/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "threading/pool/executor.h"
#include "threading/thread/thread.h"

namespace pyconc::threading {
namespace {

using ::testing::HasSubstr;

// Makes every Start() fail with `error` while it lives.
class ThreadCreateFails {
 public:
  explicit ThreadCreateFails(int error) {
    internal::SetThreadCreateErrorForTesting(error);
  }
  ~ThreadCreateFails() { internal::SetThreadCreateErrorForTesting(0); }
};

void ExpectCantStartNewThread(const absl::Status& status) {
  EXPECT_TRUE(IsError(status, PythonError::kRuntimeError)) << status;
  EXPECT_THAT(status.message(),
              HasSubstr("can't start new thread ([Errno 11] Resource "
                        "temporarily unavailable)"));
}

TEST(StartFailureTest, StartAnswersRuntimeErrorWithTheErrnoText) {
  auto captured = std::make_shared<int>(7);
  std::atomic<bool> ran{false};
  const int active_before = ActiveCount();
  Thread thread([&ran, captured] { ran = true; });
  {
    ThreadCreateFails fails(EAGAIN);
    ExpectCantStartNewThread(thread.Start());
  }
  // As after Python's failed start(): not alive, never listed, never run,
  // and the target with what it captured is released at once.
  EXPECT_FALSE(thread.IsAlive());
  EXPECT_EQ(ActiveCount(), active_before);
  for (const ThreadRef& alive : Enumerate()) EXPECT_FALSE(alive == thread);
  EXPECT_EQ(thread.ident(), 0u);
  EXPECT_EQ(captured.use_count(), 1);
  EXPECT_FALSE(ran);

  // The process can go on: the next thread starts.
  Thread next([&ran] { ran = true; });
  ASSERT_TRUE(next.Start().ok());
  next.Join();
  EXPECT_TRUE(ran);
}

TEST(StartFailureTest, ASubclassThatDidNotStartMayBeDestroyed) {
  class Worker : public Thread {
   protected:
    void Run() override {}
  };
  Worker worker;
  ThreadCreateFails fails(ENOMEM);
  const absl::Status status = worker.Start();
  EXPECT_TRUE(IsError(status, PythonError::kRuntimeError)) << status;
  EXPECT_THAT(status.message(), HasSubstr("[Errno 12] Cannot allocate memory"));
}

TEST(StartFailureDeathTest, JoinOrStartAfterAFailedStartIsMisuse) {
  // Python 3.13: join() raises "cannot join thread before it is started",
  // start() again raises RuntimeError.
  EXPECT_DEATH(
      {
        Thread thread([] {});
        internal::SetThreadCreateErrorForTesting(EAGAIN);
        (void)thread.Start();
        internal::SetThreadCreateErrorForTesting(0);
        thread.Join();
      },
      "cannot join thread before it is started");
  EXPECT_DEATH(
      {
        Thread thread([] {});
        internal::SetThreadCreateErrorForTesting(EAGAIN);
        (void)thread.Start();
        (void)thread.Start();
      },
      "threads can only be started once");
}

TEST(StartFailureTest, PoolSubmitAnswersTheErrorAndTheCallNeverRuns) {
  std::atomic<int> runs{0};
  {
    futures::ThreadPoolExecutor pool({.max_workers = 2});
    ThreadCreateFails fails(EAGAIN);
    auto future = pool.Submit([&runs] { ++runs; });
    ASSERT_FALSE(future.ok());
    ExpectCantStartNewThread(future.status());
    EXPECT_EQ(pool.num_threads(), 0);
  }  // Shutdown releases the call no worker took (asan checks the leak).
  EXPECT_EQ(runs, 0);
}

TEST(StartFailureTest, PoolThatCannotGrowFailsTheCallAndKeepsItsWorkers) {
  std::atomic<int> runs{0};
  futures::ThreadPoolExecutor pool({.max_workers = 2});
  absl::Notification release;
  auto busy = pool.Submit([&release] { release.WaitForNotification(); });
  ASSERT_TRUE(busy.ok());
  {
    // The only worker is busy, so this call needs a second one.
    ThreadCreateFails fails(EAGAIN);
    auto refused = pool.Submit([&runs] { ++runs; });
    ASSERT_FALSE(refused.ok());
    ExpectCantStartNewThread(refused.status());
  }
  release.Notify();
  busy->Result();
  // The pool still works, and the refused call was not run by the worker.
  auto later = pool.Submit([&runs] { return runs.load(); });
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->Result(), 0);
  pool.Shutdown();
  EXPECT_EQ(runs, 0);
}

}  // namespace
}  // namespace pyconc::threading
