// Cancellation with Python 3.11+ semantics, ported from CPython's
// test_tasks.py: every state a task can be cancelled in, and the counts.
#include <string>
#include <vector>

#include "asyncio/errors.h"
#include "asyncio/future.h"
#include "asyncio/loop.h"
#include "asyncio/run.h"
#include "asyncio/sleep.h"
#include "asyncio/task.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/asyncio/test_coroutines.h"

namespace pyconc::asyncio {
namespace {

using test_coroutines::SleepForever;
using ::testing::ElementsAre;

std::string CancelMessage(const AnyTask& task) {
  try {
    task.Exception();
  } catch (const CancelledError& e) {
    return e.message();
  }
  return "<not cancelled>";
}

TEST(CancelTest, CancelBeforeTheFirstStepNeverRunsTheBody) {
  EventLoop loop;
  bool ran = false;
  auto body = [&]() -> Coroutine<void> {
    ran = true;
    co_return;
  };
  Task<void> task = loop.CreateTask(body());
  EXPECT_TRUE(task.Cancel("early"));
  EXPECT_EQ(task.Cancelling(), 1);
  loop.RunUntilDone(task.base());
  EXPECT_FALSE(ran);
  EXPECT_TRUE(task.Cancelled());
  EXPECT_EQ(CancelMessage(task), "early");
  EXPECT_THROW(task.Result(), CancelledError);
}

TEST(CancelTest, CancelDuringSleepThrowsAtTheAwait) {
  EventLoop loop;
  std::vector<std::string> events;
  auto body = [&]() -> Coroutine<void> {
    try {
      co_await Sleep(absl::Hours(1));
    } catch (const CancelledError& e) {
      events.push_back("caught " + e.message());
      throw;
    }
  };
  Task<void> task = loop.CreateTask(body());
  loop.RunOnce();
  EXPECT_TRUE(task.Cancel("msg"));
  loop.RunUntilDone(task.base());
  EXPECT_THAT(events, ElementsAre("caught msg"));
  EXPECT_TRUE(task.Cancelled());
  EXPECT_EQ(CancelMessage(task), "msg");
}

TEST(CancelTest, CancelADoneTaskReturnsFalse) {
  EventLoop loop;
  Task<int> task = loop.CreateTask([]() -> Coroutine<int> { co_return 1; }());
  loop.RunUntilComplete(task);
  EXPECT_FALSE(task.Cancel());
  EXPECT_EQ(task.Cancelling(), 0);
  EXPECT_FALSE(task.Cancelled());
}

TEST(CancelTest, ATaskThatSwallowsCancellationEndsNotCancelled) {
  EventLoop loop;
  Task<int> task = loop.CreateTask([]() -> Coroutine<int> {
    try {
      co_await Sleep(absl::Hours(1));
    } catch (const CancelledError&) {
      co_return 42;
    }
    co_return 0;
  }());
  loop.RunOnce();
  task.Cancel();
  EXPECT_EQ(loop.RunUntilComplete(task), 42);
  EXPECT_FALSE(task.Cancelled());
  EXPECT_EQ(task.Cancelling(), 1);  // The request stays counted.
}

TEST(CancelTest, ATaskThatCancelsItselfEndsCancelledAtItsNextAwait) {
  EventLoop loop;
  bool after = false;
  auto body = [&]() -> Coroutine<void> {
    CurrentTask()->Cancel("self");
    co_await Sleep(absl::Milliseconds(1));  // Throws here.
    after = true;
  };
  Task<void> task = loop.CreateTask(body());
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
  EXPECT_FALSE(after);
  EXPECT_EQ(CancelMessage(task), "self");
}

TEST(CancelTest, ATaskThatCancelsItselfAndReturnsEndsCancelled) {
  EventLoop loop;
  Task<int> task = loop.CreateTask([]() -> Coroutine<int> {
    CurrentTask()->Cancel();
    co_return 1;
  }());
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
}

TEST(CancelTest, SelfCancelBeforeSleepZeroThrowsAtTheNextStep) {
  EventLoop loop;
  Task<int> task = loop.CreateTask([]() -> Coroutine<int> {
    CurrentTask()->Cancel();
    co_await Sleep(absl::ZeroDuration());
    co_return 1;
  }());
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
}

TEST(CancelTest, CancelWhileTheWakeUpIsQueuedStillCancels) {
  // The awaited future completed (the task is scheduled), then Cancel():
  // Python's _must_cancel makes the next step throw instead of resuming.
  EventLoop loop;
  Future<int> future = loop.CreateFuture<int>();
  Task<int> task = loop.CreateTask(
      [](Future<int> f) -> Coroutine<int> { co_return co_await f; }(future));
  loop.RunOnce();
  future.SetResult(1);
  EXPECT_TRUE(task.Cancel("late"));
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
  EXPECT_EQ(CancelMessage(task), "late");
}

TEST(CancelTest, CancellingATaskCancelsTheFutureItAwaits) {
  EventLoop loop;
  Future<int> future = loop.CreateFuture<int>();
  Task<int> task = loop.CreateTask(
      [](Future<int> f) -> Coroutine<int> { co_return co_await f; }(future));
  loop.RunOnce();
  task.Cancel("both");
  EXPECT_TRUE(future.Cancelled());
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
}

TEST(CancelTest, CancellingAnOuterTaskCancelsTheInnerTask) {
  EventLoop loop;
  Task<int> inner = loop.CreateTask(SleepForever(), {.name = "inner"});
  Task<int> outer = loop.CreateTask(
      [](Task<int> t) -> Coroutine<int> { co_return co_await t; }(inner));
  loop.RunOnce();
  outer.Cancel("stop");
  loop.RunUntilDone(outer.base());
  EXPECT_TRUE(inner.Cancelled());
  EXPECT_TRUE(outer.Cancelled());
  EXPECT_EQ(CancelMessage(outer), "stop");
}

TEST(CancelTest, AnInnerTaskThatSwallowsLetsTheOuterContinue) {
  EventLoop loop;
  Task<int> inner = loop.CreateTask([]() -> Coroutine<int> {
    try {
      co_await Sleep(absl::Hours(1));
    } catch (const CancelledError&) {
    }
    co_return 7;
  }());
  Task<int> outer = loop.CreateTask(
      [](Task<int> t) -> Coroutine<int> { co_return 1 + co_await t; }(inner));
  loop.RunOnce();
  outer.Cancel();
  EXPECT_EQ(loop.RunUntilComplete(outer), 8);
  EXPECT_FALSE(outer.Cancelled());
  EXPECT_EQ(outer.Cancelling(), 1);
}

TEST(CancelTest, AwaitingACancelledTaskThrowsInTheAwaiterOnly) {
  EventLoop loop;
  Task<int> inner = loop.CreateTask(SleepForever());
  Task<std::string> outer =
      loop.CreateTask([](Task<int> t) -> Coroutine<std::string> {
        try {
          co_await t;
        } catch (const CancelledError& e) {
          co_return "inner cancelled: " + e.message();
        }
        co_return "no";
      }(inner));
  loop.RunOnce();
  inner.Cancel("why");
  EXPECT_EQ(loop.RunUntilComplete(outer), "inner cancelled: why");
  EXPECT_FALSE(outer.Cancelled());
  EXPECT_EQ(outer.Cancelling(), 0);
}

// CPython's behaviour (3.13, as test_tasks.py's cancel-with-message tests
// check one message): twice on a suspended task, the first message reaches
// the task and its awaiter; twice before the first step, the last.
TEST(CancelTest, TwoCancelsOnASuspendedTaskKeepTheFirstMessage) {
  EventLoop loop;
  std::vector<std::string> events;
  auto body = [&]() -> Coroutine<void> {
    try {
      co_await Sleep(absl::Hours(1));
    } catch (const CancelledError& e) {
      events.push_back("task saw " + e.message());
      throw;
    }
  };
  Task<void> task = loop.CreateTask(body());
  loop.RunOnce();
  EXPECT_TRUE(task.Cancel("first"));
  EXPECT_TRUE(task.Cancel("second"));
  auto awaiter = [&]() -> Coroutine<std::string> {
    try {
      co_await task;
    } catch (const CancelledError& e) {
      co_return e.message();
    }
    co_return "<not cancelled>";
  };
  EXPECT_EQ(loop.RunUntilComplete(awaiter()), "first");
  EXPECT_THAT(events, ElementsAre("task saw first"));
  EXPECT_EQ(CancelMessage(task), "first");
}

TEST(CancelTest, TwoCancelsOnATaskAwaitingAFutureKeepTheFirstMessage) {
  EventLoop loop;
  auto body = [](Future<int> f) -> Coroutine<std::string> {
    try {
      co_await f;
    } catch (const CancelledError& e) {
      co_return e.message();
    }
    co_return "<not cancelled>";
  };
  Future<int> f = loop.CreateFuture<int>();
  Task<std::string> task = loop.CreateTask(body(f));
  loop.RunOnce();
  task.Cancel("first");
  task.Cancel("second");
  EXPECT_EQ(loop.RunUntilComplete(task), "first");
}

TEST(CancelTest, TwoCancelsBeforeTheFirstStepKeepTheLastMessage) {
  EventLoop loop;
  Task<void> task = loop.CreateTask([]() -> Coroutine<void> { co_return; }());
  task.Cancel("first");
  task.Cancel("second");
  loop.RunUntilDone(task.base());
  EXPECT_EQ(CancelMessage(task), "second");
}

TEST(CancelTest, CancellingCountsAndUncancel) {
  EventLoop loop;
  Task<int> task = loop.CreateTask(SleepForever());
  loop.RunOnce();
  EXPECT_EQ(task.Cancelling(), 0);
  EXPECT_TRUE(task.Cancel());
  EXPECT_TRUE(task.Cancel());
  EXPECT_EQ(task.Cancelling(), 2);
  EXPECT_EQ(task.Uncancel(), 1);
  EXPECT_EQ(task.Uncancel(), 0);
  EXPECT_EQ(task.Uncancel(), 0);
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());  // The sleep was cancelled all the same.
}

TEST(CancelTest, UncancelToZeroDropsAPendingMustCancel) {
  // 3.13: uncancel() reaching 0 clears _must_cancel.
  EventLoop loop;
  Task<int> task = loop.CreateTask([]() -> Coroutine<int> { co_return 5; }());
  task.Cancel();
  EXPECT_EQ(task.Uncancel(), 0);
  EXPECT_EQ(loop.RunUntilComplete(task), 5);
}

TEST(CancelTest, RunReportsALeftoverTaskThatFailsWhileCancelled) {
  testing::internal::CaptureStderr();
  auto stubborn = []() -> Coroutine<void> {
    try {
      co_await Sleep(absl::Hours(1));
    } catch (const CancelledError&) {
      throw std::runtime_error("failed during cancel");
    }
  };
  asyncio::Run([&]() -> Coroutine<void> {
    CreateTask(stubborn());
    co_await Sleep(absl::ZeroDuration());
  }());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, testing::HasSubstr("during asyncio.run() shutdown"));
  EXPECT_THAT(err, testing::HasSubstr("failed during cancel"));
}

TEST(CancelTest, CancelledErrorIsNotAStdException) {
  EventLoop loop;
  bool caught_by_std = false;
  auto body = [&]() -> Coroutine<void> {
    try {
      co_await Sleep(absl::Hours(1));
    } catch (const std::exception&) {
      caught_by_std = true;
    }
  };
  Task<void> task = loop.CreateTask(body());
  loop.RunOnce();
  task.Cancel();
  loop.RunUntilDone(task.base());
  EXPECT_FALSE(caught_by_std);
  EXPECT_TRUE(task.Cancelled());
}

}  // namespace
}  // namespace pyconc::asyncio
