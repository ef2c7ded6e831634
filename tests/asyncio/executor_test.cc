// The thread bridges, ported from CPython's test_asyncio (test_threads.py,
// test_futures.py's wrap_future, test_tasks.py's run_coroutine_threadsafe).
#include "asyncio/executor.h"

#include <stdexcept>
#include <thread>
#include <vector>

#include "asyncio/loop.h"
#include "asyncio/run.h"
#include "asyncio/sleep.h"
#include "asyncio/task.h"
#include "gtest/gtest.h"
#include "threading/pool/executor.h"
#include "threading/pool/future.h"

namespace pyconc::asyncio {
namespace {

int Square(int x) { return x * x; }

TEST(ExecutorTest, ToThreadRunsOnAnotherThreadAndGivesTheValue) {
  const std::thread::id loop_thread = std::this_thread::get_id();
  std::thread::id worker_thread;
  const int value = asyncio::Run([&]() -> Coroutine<int> {
    int v = co_await ToThread([&] {
      worker_thread = std::this_thread::get_id();
      return 6 * 7;
    });
    EXPECT_EQ(std::this_thread::get_id(), loop_thread);  // Resumes on the loop.
    co_return v;
  }());
  EXPECT_EQ(value, 42);
  EXPECT_NE(worker_thread, loop_thread);
}

TEST(ExecutorTest, ToThreadRethrows) {
  EXPECT_THROW(
      asyncio::Run([]() -> Coroutine<void> {
        co_await ToThread([] { throw std::runtime_error("in thread"); });
      }()),
      std::runtime_error);
}

TEST(ExecutorTest, ToThreadWithArguments) {
  EXPECT_EQ(asyncio::Run([]() -> Coroutine<int> {
              co_return co_await ToThread(Square, 9);
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

}  // namespace
}  // namespace pyconc::asyncio
