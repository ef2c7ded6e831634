// Future<T>, ported from CPython's test_futures.py.
#include "asyncio/future.h"

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "asyncio/loop.h"
#include "asyncio/run.h"
#include "asyncio/task.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyconc::asyncio {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(FutureTest, InitialState) {
  EventLoop loop;
  Future<int> f = loop.CreateFuture<int>();
  EXPECT_FALSE(f.Done());
  EXPECT_FALSE(f.Cancelled());
}

TEST(FutureTest, SetResult) {
  EventLoop loop;
  Future<int> f = loop.CreateFuture<int>();
  f.SetResult(42);
  EXPECT_TRUE(f.Done());
  EXPECT_EQ(f.Result(), 42);
  EXPECT_EQ(f.Exception(), nullptr);
}

TEST(FutureTest, CancelCarriesTheMessage) {
  EventLoop loop;
  Future<int> f = loop.CreateFuture<int>();
  EXPECT_TRUE(f.Cancel("my message"));
  EXPECT_TRUE(f.Cancelled());
  EXPECT_FALSE(f.Cancel());
  try {
    f.Result();
    FAIL() << "no CancelledError";
  } catch (const CancelledError& e) {
    EXPECT_EQ(e.message(), "my message");
  }
  EXPECT_THROW(f.Exception(), CancelledError);
}

TEST(FutureTest, SetException) {
  EventLoop loop;
  Future<std::string> f = loop.CreateFuture<std::string>();
  f.SetException(std::make_exception_ptr(std::runtime_error("bad")));
  EXPECT_TRUE(f.Done());
  EXPECT_FALSE(f.Cancel());
  EXPECT_THROW(f.Result(), std::runtime_error);
  EXPECT_NE(f.Exception(), nullptr);
}

TEST(FutureTest, CallbacksAreScheduledInOrderNotCalled) {
  EventLoop loop;
  Future<int> f = loop.CreateFuture<int>();
  std::vector<int> order;
  f.AddDoneCallback([&](Future<int>& done) { order.push_back(done.Result()); });
  const uint64_t removed =
      f.AddDoneCallback([&](Future<int>&) { order.push_back(-1); });
  f.AddDoneCallback([&](Future<int>&) { order.push_back(2); });
  EXPECT_EQ(f.RemoveDoneCallback(removed), 1);
  EXPECT_EQ(f.RemoveDoneCallback(removed), 0);
  f.SetResult(1);
  EXPECT_TRUE(order.empty());  // Scheduled through the loop, as call_soon.
  loop.RunOnce();
  EXPECT_THAT(order, ElementsAre(1, 2));
  f.AddDoneCallback([&](Future<int>&) { order.push_back(3); });
  loop.RunOnce();
  EXPECT_THAT(order, ElementsAre(1, 2, 3));
}

// A callback added to a done future is scheduled at once, so there is nothing
// to remove (its id is 0); and removing id 0 never removes a task awaiting a
// future, which is kept among the callbacks with no id.
TEST(FutureTest, ACallbackOnADoneFutureLeavesNothingToRemove) {
  EventLoop loop;
  Future<int> done = loop.CreateFuture<int>();
  done.SetResult(1);
  std::vector<int> order;
  const uint64_t id = done.AddDoneCallback(
      [&](Future<int>& f) { order.push_back(f.Result()); });
  EXPECT_EQ(id, 0u);
  EXPECT_EQ(done.RemoveDoneCallback(id), 0);

  Future<int> pending = loop.CreateFuture<int>();
  Task<int> waiter = loop.CreateTask(
      [](Future<int> f) -> Coroutine<int> { co_return co_await f; }(pending));
  loop.RunOnce();  // The callback runs; `waiter` awaits `pending`.
  EXPECT_THAT(order, ElementsAre(1));
  pending.AddDoneCallback([&](Future<int>&) { order.push_back(2); });
  ASSERT_EQ(pending.RemoveDoneCallback(0), 0);
  pending.SetResult(3);
  EXPECT_EQ(loop.RunUntilComplete(waiter), 3);
  EXPECT_THAT(order, ElementsAre(1, 2));
}

// A single awaiting task is kept without a list; the first callback added
// after it moves it into one, first.
TEST(FutureTest, AwaitersAndCallbacksRunInTheOrderTheyCameIn) {
  EventLoop loop;
  Future<int> f = loop.CreateFuture<int>();
  std::vector<std::string> order;
  auto waiter = [&](std::string name) -> Coroutine<void> {
    const int v = co_await f;
    order.push_back(name + " " + std::to_string(v));
  };
  Task<void> a = loop.CreateTask(waiter("a"));
  loop.RunOnce();  // `a` awaits f.
  f.AddDoneCallback([&](Future<int>&) { order.push_back("callback"); });
  Task<void> b = loop.CreateTask(waiter("b"));
  loop.RunOnce();  // `b` awaits f.
  f.SetResult(7);
  loop.RunUntilDone(b.base());
  EXPECT_THAT(order, ElementsAre("a 7", "callback", "b 7"));
}

TEST(FutureTest, ATaskAbandonedAtCloseNoLongerAwaitsItsFuture) {
  EventLoop loop;
  std::vector<std::string> messages;
  loop.SetExceptionHandler([&](EventLoop&, const ExceptionContext& c) {
    messages.push_back(c.message);
  });
  Future<int> f = loop.CreateFuture<int>();
  auto body = [&]() -> Coroutine<void> {
    co_await f;
    ADD_FAILURE() << "resumed after its loop closed";
  };
  Task<void> task = loop.CreateTask(body());
  loop.RunOnce();  // The task awaits f.
  loop.Close();
  EXPECT_THAT(messages, ElementsAre("Task was destroyed but it is pending!"));
  // Nothing left to wake: setting the result is not "Event loop is closed".
  f.SetResult(1);
  EXPECT_EQ(f.Result(), 1);
}

TEST(FutureTest, AwaitAFutureSetByATimer) {
  EXPECT_EQ(asyncio::Run([]() -> Coroutine<int> {
              Future<int> f;
              GetRunningLoop().CallLater(absl::Milliseconds(2),
                                         [f]() mutable { f.SetResult(9); });
              co_return co_await f;
            }()),
            9);
}

TEST(FutureTest, AwaitAFutureSetFromAnotherThread) {
  EXPECT_EQ(asyncio::Run([]() -> Coroutine<int> {
              Future<int> f;
              EventLoop& loop = GetRunningLoop();
              // The handle moves to the thread and back through
              // CallSoonThreadsafe: it is never copied or dropped there.
              std::thread thread([&loop, f]() mutable {
                loop.CallSoonThreadsafe(
                    [f = std::move(f)]() mutable { f.SetResult(5); });
              });
              int value = co_await f;
              thread.join();
              co_return value;
            }()),
            5);
}

TEST(FutureTest, AwaitingACancelledFutureThrows) {
  std::string message;
  asyncio::Run([&]() -> Coroutine<void> {
    Future<void> f;
    GetRunningLoop().CallSoon([f]() mutable { f.Cancel("stop"); });
    try {
      co_await f;
    } catch (const CancelledError& e) {
      message = e.message();
    }
  }());
  EXPECT_EQ(message, "stop");
}

TEST(FutureTest, NeverRetrievedExceptionIsReported) {
  EventLoop loop;
  std::vector<std::string> messages;
  loop.SetExceptionHandler([&](EventLoop&, const ExceptionContext& c) {
    messages.push_back(c.message);
  });
  {
    Future<int> f = loop.CreateFuture<int>();
    f.SetException(std::make_exception_ptr(std::runtime_error("lost")));
  }
  EXPECT_THAT(messages, ElementsAre("Future exception was never retrieved"));
  {
    Future<int> f = loop.CreateFuture<int>();
    f.SetException(std::make_exception_ptr(std::runtime_error("seen")));
    f.Exception();
  }
  EXPECT_EQ(messages.size(), 1u);
}

TEST(FutureDeathTest, ResultOfAPendingFutureIsInvalidState) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        loop.CreateFuture<int>().Result();
      },
      "InvalidStateError");
}

TEST(FutureDeathTest, SetResultTwiceIsInvalidState) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        Future<int> f = loop.CreateFuture<int>();
        f.SetResult(1);
        f.SetResult(2);
      },
      "InvalidStateError");
}

TEST(FutureDeathTest, FutureOutsideALoopIsRuntimeError) {
  EXPECT_DEATH(Future<int>(), "RuntimeError.*no running event loop");
}

}  // namespace
}  // namespace pyconc::asyncio
