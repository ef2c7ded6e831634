// The thread bridges, ported from CPython's test_asyncio (test_threads.py,
// test_futures.py's wrap_future, test_tasks.py's run_coroutine_threadsafe).
#include "asyncio/executor.h"

#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "asyncio/errors.h"
#include "asyncio/loop.h"
#include "asyncio/run.h"
#include "asyncio/sleep.h"
#include "asyncio/task.h"
#include "base/errors.h"
#include "gtest/gtest.h"
#include "tests/asyncio/test_coroutines.h"
#include "threading/pool/executor.h"
#include "threading/pool/future.h"

namespace pyconc::asyncio {
namespace {

int Square(int x) { return x * x; }

TEST(ExecutorTest, ToThreadRunsOnAnotherThreadAndGivesTheValue) {
  const std::thread::id loop_thread = std::this_thread::get_id();
  std::thread::id worker_thread;
  const int value = asyncio::Run([&]() -> Coroutine<int> {
    absl::StatusOr<int> v = co_await ToThread([&] {
      worker_thread = std::this_thread::get_id();
      return 6 * 7;
    });
    EXPECT_EQ(std::this_thread::get_id(), loop_thread);  // Resumes on the loop.
    co_return v.value();
  }());
  EXPECT_EQ(value, 42);
  EXPECT_NE(worker_thread, loop_thread);
}

TEST(ExecutorTest, ToThreadRethrows) {
  EXPECT_THROW(
      asyncio::Run([]() -> Coroutine<void> {
        (void)co_await ToThread([] { throw std::runtime_error("in thread"); });
      }()),
      std::runtime_error);
}

TEST(ExecutorTest, ToThreadWithArguments) {
  EXPECT_EQ(asyncio::Run([]() -> Coroutine<int> {
              absl::StatusOr<int> v = co_await ToThread(Square, 9);
              co_return v.value();
            }()),
            81);
}

TEST(ExecutorTest, RunInExecutorFromManyTasks) {
  futures::ThreadPoolExecutor pool({.max_workers = 4});
  auto one = [&pool](int i) -> Coroutine<int> {
    absl::StatusOr<Future<int>> f = RunInExecutor(pool, Square, i);
    EXPECT_TRUE(f.ok());
    co_return co_await *f;
  };
  const int sum = asyncio::Run([&]() -> Coroutine<int> {
    std::vector<Task<int>> tasks;
    for (int i = 0; i < 50; ++i) tasks.push_back(CreateTask(one(i)));
    int total = 0;
    for (Task<int>& t : tasks) total += co_await t;
    co_return total;
  }());
  EXPECT_EQ(sum, 49 * 50 * 99 / 6);
}

TEST(ExecutorTest, RunInExecutorOnAShutDownPoolIsAStatus) {
  futures::ThreadPoolExecutor pool;
  pool.Shutdown();
  asyncio::Run([&]() -> Coroutine<void> {
    EXPECT_FALSE(RunInExecutor(pool, Square, 1).ok());
    co_return;
  }());
}

// CPython raises RuntimeError for both run_in_executor on a shut-down pool
// and to_thread after the default executor was shut down; pyconc answers
// both with the same Status.
TEST(ExecutorTest, ToThreadOnAShutDownDefaultExecutorIsAStatus) {
  asyncio::Run([&]() -> Coroutine<void> {
    GetRunningLoop().DefaultExecutor().Shutdown();
    absl::StatusOr<int> v = co_await ToThread(Square, 3);
    EXPECT_TRUE(IsError(v.status(), PythonError::kRuntimeError)) << v.status();
    absl::Status done = co_await ToThread([] {});
    EXPECT_TRUE(IsError(done, PythonError::kRuntimeError)) << done;
  }());
}

TEST(ExecutorTest, WrapFutureOfAFutureSetByAnotherThread) {
  futures::Future<int> source;
  std::thread setter;
  const int value = asyncio::Run([&]() -> Coroutine<int> {
    Future<int> wrapped = WrapFuture(source);
    setter = std::thread([source] { source.SetResult(5); });
    co_return co_await wrapped;
  }());
  setter.join();
  EXPECT_EQ(value, 5);
}

TEST(ExecutorTest, CancellingTheAwaitingTaskCancelsTheSource) {
  futures::Future<int> source;  // Never set: only cancellation ends it.
  asyncio::Run([&]() -> Coroutine<void> {
    Task<int> waiter = CreateTask([](futures::Future<int> f) -> Coroutine<int> {
      co_return co_await WrapFuture(f);
    }(source));
    co_await Sleep(absl::ZeroDuration());
    waiter.Cancel();
    try {
      co_await waiter;
    } catch (const CancelledError&) {
    }
    co_await Sleep(absl::ZeroDuration());  // The done callback runs.
  }());
  EXPECT_TRUE(source.Cancelled());
}

Coroutine<int> AddLater(int a, int b) {
  co_await Sleep(absl::Milliseconds(1));
  co_return a + b;
}

Coroutine<int> FailLater() {
  co_await Sleep(absl::Milliseconds(1));
  throw std::runtime_error("coroutine failed");
}

TEST(ExecutorTest, RunCoroutineThreadsafeFromAnotherThread) {
  EventLoop loop;
  int value = 0;
  bool threw = false;
  std::thread client([&] {
    value = RunCoroutineThreadsafe(AddLater(2, 3), loop).Result();
    try {
      RunCoroutineThreadsafe(FailLater(), loop).Result();
    } catch (const std::runtime_error&) {
      threw = true;
    }
    loop.CallSoonThreadsafe([&loop] { loop.Stop(); });
  });
  loop.RunForever();
  client.join();
  loop.Close();
  EXPECT_EQ(value, 5);
  EXPECT_TRUE(threw);
}

// Tells `suspended` it is about to sleep, sleeps until cancelled, then records
// the thread the CancelledError arrived on and stops the loop. With `swallow`
// it returns 7 instead of letting the CancelledError out.
Coroutine<int> SleepUntilCancelled(absl::Notification* suspended,
                                   std::thread::id* cancelled_on,
                                   bool swallow = false) {
  suspended->Notify();
  try {
    co_await Sleep(absl::Hours(1));
  } catch (const CancelledError&) {
    *cancelled_on = std::this_thread::get_id();
    GetRunningLoop().Stop();
    if (!swallow) throw;
  }
  co_return 7;
}

// Python's futures._chain_future: cancelling the concurrent future cancels
// the task, on the loop's thread.
TEST(ExecutorTest, CancellingRunCoroutineThreadsafesFutureCancelsTheTask) {
  EventLoop loop;
  absl::Notification suspended;
  std::thread::id cancelled_on;
  futures::Future<int> future = RunCoroutineThreadsafe(
      SleepUntilCancelled(&suspended, &cancelled_on), loop);
  bool cancel_returned = false;
  std::thread client([&] {
    suspended.WaitForNotification();
    cancel_returned = future.Cancel();
  });
  loop.RunForever();  // Until the coroutine has had its CancelledError.
  client.join();
  loop.Close();
  EXPECT_TRUE(cancel_returned);
  EXPECT_TRUE(future.Cancelled());
  EXPECT_THROW(future.Result(), futures::CancelledError);
  EXPECT_EQ(cancelled_on, std::this_thread::get_id());
}

// CPython 3.13: a cancelled run_coroutine_threadsafe future raises
// concurrent.futures.CancelledError, an Exception that `except
// asyncio.CancelledError` does not catch (distinct classes since 3.8,
// bpo-32528).
TEST(ExecutorTest, TheFuturesCancelledErrorIsNotAsyncios) {
  static_assert(!std::is_same_v<futures::CancelledError, CancelledError>);
  static_assert(std::is_base_of_v<std::exception, futures::CancelledError>);
  static_assert(!std::is_base_of_v<std::exception, CancelledError>);
  EventLoop loop;
  absl::Notification suspended;
  std::thread::id cancelled_on;
  futures::Future<int> future = RunCoroutineThreadsafe(
      SleepUntilCancelled(&suspended, &cancelled_on), loop);
  std::thread client([&] {
    suspended.WaitForNotification();
    future.Cancel();
  });
  loop.RunForever();
  client.join();
  loop.Close();
  std::string caught;
  try {
    future.Result();
  } catch (const CancelledError&) {
    caught = "asyncio::CancelledError";
  } catch (const std::exception& e) {
    caught = e.what();
  }
  EXPECT_EQ(caught, "CancelledError");
}

// Python's _set_concurrent_future_state: the future, cancelled first, stays
// so when the coroutine swallows the CancelledError and returns.
TEST(ExecutorTest, TheFutureStaysCancelledWhenTheCoroutineSwallowsTheCancel) {
  EventLoop loop;
  absl::Notification suspended;
  std::thread::id cancelled_on;
  futures::Future<int> future = RunCoroutineThreadsafe(
      SleepUntilCancelled(&suspended, &cancelled_on, /*swallow=*/true), loop);
  std::thread client([&] {
    suspended.WaitForNotification();
    future.Cancel();
  });
  loop.RunForever();
  client.join();
  loop.RunOnce();  // The task's done callback, which leaves the future be.
  loop.Close();
  EXPECT_EQ(cancelled_on, std::this_thread::get_id());
  EXPECT_TRUE(future.Cancelled());
  EXPECT_THROW(future.Result(), futures::CancelledError);
}

TEST(ExecutorTest, CancellingRunCoroutineThreadsafesFutureWhenDoneDoesNothing) {
  EventLoop loop;
  int value = 0;
  bool cancel_returned = true;
  bool cancelled = true;
  std::thread client([&] {
    futures::Future<int> future = RunCoroutineThreadsafe(AddLater(2, 3), loop);
    value = future.Result();
    cancel_returned = future.Cancel();
    cancelled = future.Cancelled();
    loop.CallSoonThreadsafe([&loop] { loop.Stop(); });
  });
  loop.RunForever();
  client.join();
  loop.Close();
  EXPECT_EQ(value, 5);
  EXPECT_FALSE(cancel_returned);
  EXPECT_FALSE(cancelled);
}

// Cancelled before the loop made the task: as in Python, the cancel is
// scheduled after the task's first step and reaches it at its first await.
TEST(ExecutorTest, ACancelBeforeTheTaskExistsReachesItAtItsFirstAwait) {
  EventLoop loop;
  absl::Notification suspended;
  std::thread::id cancelled_on;
  futures::Future<int> future = RunCoroutineThreadsafe(
      SleepUntilCancelled(&suspended, &cancelled_on), loop);
  EXPECT_TRUE(future.Cancel());
  loop.RunForever();
  loop.Close();
  EXPECT_TRUE(suspended.HasBeenNotified());
  EXPECT_EQ(cancelled_on, std::this_thread::get_id());
}

// Close drops the task's done callback, and with it the way to the loop, even
// while a handle keeps the abandoned task itself.
TEST(ExecutorTest, CancellingAfterTheLoopIsGoneOnlyCancelsTheFuture) {
  futures::Future<int> future;
  std::vector<AnyTask> kept;
  {
    EventLoop loop;
    loop.SetExceptionHandler([](EventLoop&, const ExceptionContext&) {});
    future = RunCoroutineThreadsafe(test_coroutines::SleepForever(), loop);
    loop.RunUntilComplete([&kept]() -> Coroutine<void> {
      co_await Sleep(absl::ZeroDuration());  // The loop has made the task.
      kept = AllTasks();
    }());
    ASSERT_EQ(kept.size(), 2u);
  }
  EXPECT_TRUE(future.Cancel());
  EXPECT_TRUE(future.Cancelled());
}

}  // namespace
}  // namespace pyconc::asyncio
