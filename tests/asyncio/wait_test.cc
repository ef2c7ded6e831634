// Wait and AsCompleted, ported from CPython's test_tasks.py (test_wait_*,
// test_as_completed_*).
#include "asyncio/wait.h"

#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "asyncio/errors.h"
#include "asyncio/loop.h"
#include "asyncio/sleep.h"
#include "asyncio/task.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/asyncio/test_coroutines.h"

namespace pyconc::asyncio {
namespace {

using test_coroutines::After;
using test_coroutines::Fail;
using test_coroutines::WhenSet;
using ::testing::ElementsAre;

std::vector<int> Values(const std::vector<Task<int>>& tasks) {
  std::vector<int> values;
  for (const Task<int>& t : tasks) values.push_back(t.Result());
  return values;
}

TEST(WaitTest, AllCompletedWaitsForEveryTask) {
  EventLoop loop;
  auto main = []() -> Coroutine<WaitResult<int>> {
    std::vector<Task<int>> tasks{CreateTask(After(absl::Milliseconds(3), 1)),
                                 CreateTask(After(absl::Milliseconds(1), 2))};
    co_return co_await Wait(tasks);
  };
  WaitResult<int> r = loop.RunUntilComplete(main());
  EXPECT_THAT(Values(r.done), ElementsAre(1, 2));
  EXPECT_TRUE(r.pending.empty());
}

TEST(WaitTest, FirstCompletedAnswersAtTheFirstAndCancelsNothing) {
  EventLoop loop;
  Future<int> gate = loop.CreateFuture<int>();
  std::vector<Task<int>> tasks;
  auto main = [&]() -> Coroutine<WaitResult<int>> {
    tasks = {CreateTask(WhenSet(gate)),
             CreateTask(After(absl::Milliseconds(1), 2))};
    co_return co_await Wait(tasks,
                            {.return_when = ReturnWhen::kFirstCompleted});
  };
  WaitResult<int> r = loop.RunUntilComplete(main());
  EXPECT_THAT(Values(r.done), ElementsAre(2));
  ASSERT_EQ(r.pending.size(), 1u);
  EXPECT_FALSE(r.pending[0].Cancelled());
  gate.SetResult(1);
  EXPECT_EQ(loop.RunUntilComplete(r.pending[0]), 1);
}

TEST(WaitTest, FirstExceptionAnswersAtTheFirstFailure) {
  EventLoop loop;
  auto main = []() -> Coroutine<WaitResult<int>> {
    std::vector<Task<int>> tasks{CreateTask(After(absl::Milliseconds(1), 1)),
                                 CreateTask(Fail(absl::Milliseconds(3))),
                                 CreateTask(After(absl::Hours(1), 3))};
    WaitResult<int> r =
        co_await Wait(tasks, {.return_when = ReturnWhen::kFirstException});
    for (Task<int>& t : r.pending) t.Cancel();
    co_return r;
  };
  WaitResult<int> r = loop.RunUntilComplete(main());
  EXPECT_EQ(r.done.size(), 2u);
  EXPECT_EQ(r.pending.size(), 1u);
  EXPECT_THROW(r.done[1].Result(), std::runtime_error);
}

TEST(WaitTest, FirstExceptionDoesNotCountACancelledTask) {
  EventLoop loop;
  auto main = []() -> Coroutine<WaitResult<int>> {
    std::vector<Task<int>> tasks{CreateTask(After(absl::Hours(1), 1)),
                                 CreateTask(After(absl::Milliseconds(2), 2))};
    tasks[0].Cancel();
    co_return co_await Wait(tasks,
                            {.return_when = ReturnWhen::kFirstException});
  };
  WaitResult<int> r = loop.RunUntilComplete(main());
  EXPECT_EQ(r.done.size(), 2u);  // Waited for all: no exception came.
}

TEST(WaitTest, TimeoutGivesPendingAndCancelsNothing) {
  EventLoop loop;
  Future<int> gate = loop.CreateFuture<int>();
  auto main = [&]() -> Coroutine<WaitResult<int>> {
    std::vector<Task<int>> tasks{CreateTask(After(absl::ZeroDuration(), 1)),
                                 CreateTask(WhenSet(gate))};
    co_await tasks[0];  // Done before Wait starts: no race with its timer.
    co_return co_await Wait(tasks, {.timeout = absl::Milliseconds(1)});
  };
  WaitResult<int> r = loop.RunUntilComplete(main());
  EXPECT_THAT(Values(r.done), ElementsAre(1));
  ASSERT_EQ(r.pending.size(), 1u);
  EXPECT_FALSE(r.pending[0].Done());
  gate.SetResult(2);
  EXPECT_EQ(loop.RunUntilComplete(r.pending[0]), 2);
}

TEST(WaitTest, CancellingTheWaiterLeavesTheTasksAlone) {
  EventLoop loop;
  Future<int> gate = loop.CreateFuture<int>();
  std::vector<Task<int>> tasks;
  auto waiter = [&]() -> Coroutine<void> { co_await Wait(tasks); };
  auto main = [&]() -> Coroutine<bool> {
    tasks = {CreateTask(WhenSet(gate))};
    Task<void> task = CreateTask(waiter());
    co_await Sleep(absl::ZeroDuration());  // The waiter is in Wait.
    task.Cancel("stop");
    try {
      co_await task;
    } catch (const CancelledError&) {
    }
    co_return task.Cancelled();
  };
  EXPECT_TRUE(loop.RunUntilComplete(main()));
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_FALSE(tasks[0].Done());
  gate.SetResult(1);
  EXPECT_EQ(loop.RunUntilComplete(tasks[0]), 1);
}

// Python's wait() takes set(fs).
TEST(WaitTest, ATaskGivenTwiceCountsOnce) {
  EventLoop loop;
  auto main = []() -> Coroutine<WaitResult<int>> {
    Task<int> t = CreateTask(After(absl::ZeroDuration(), 1));
    std::vector<Task<int>> twice = {t, t};
    co_return co_await Wait(std::move(twice));
  };
  WaitResult<int> r = loop.RunUntilComplete(main());
  EXPECT_THAT(Values(r.done), ElementsAre(1));
  EXPECT_TRUE(r.pending.empty());
}

TEST(WaitDeathTest, EmptyInputIsMisuse) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        auto main = []() -> Coroutine<void> {
          (void)co_await Wait(std::vector<Task<int>>{});
        };
        loop.RunUntilComplete(main());
      },
      "ValueError.*empty");
}

TEST(AsCompletedTest, GivesTasksInTheOrderTheyFinish) {
  EventLoop loop;
  auto main = []() -> Coroutine<std::vector<int>> {
    std::vector<Future<int>> gates;
    std::vector<Task<int>> tasks;
    for (int i = 0; i < 4; ++i) {
      gates.emplace_back();
      tasks.push_back(CreateTask(WhenSet(gates.back())));
    }
    AsCompleted<int> next(tasks);
    co_await Sleep(absl::ZeroDuration());  // Every task waits on its gate.
    for (int i = 3; i >= 0; --i) gates[i].SetResult(i);
    std::vector<int> order;
    while (next.HasNext()) {
      absl::StatusOr<Task<int>> t = co_await next.Next();
      order.push_back(co_await t.value());
    }
    co_return order;
  };
  EXPECT_THAT(loop.RunUntilComplete(main()), ElementsAre(3, 2, 1, 0));
}

// Python's as_completed takes set(fs): a task given twice comes once.
TEST(AsCompletedTest, ATaskGivenTwiceComesOnce) {
  EventLoop loop;
  auto main = []() -> Coroutine<int> {
    Task<int> t = CreateTask(After(absl::ZeroDuration(), 7));
    AsCompleted<int> next(std::vector<Task<int>>{t, t});
    int given = 0;
    while (next.HasNext()) {
      absl::StatusOr<Task<int>> done = co_await next.Next();
      EXPECT_EQ(done->Result(), 7);
      ++given;
    }
    co_return given;
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), 1);
}

// Python's as_completed([]) yields nothing.
TEST(AsCompletedTest, NoTasksGivesNothing) {
  EventLoop loop;
  auto main = []() -> Coroutine<bool> {
    AsCompleted<int> next(std::vector<Task<int>>{});
    co_return next.HasNext();
  };
  EXPECT_FALSE(loop.RunUntilComplete(main()));
}

TEST(AsCompletedTest, TimeoutAnswersTimeoutErrorAndCancelsNothing) {
  EventLoop loop;
  auto main = []() -> Coroutine<std::vector<std::string>> {
    std::vector<Task<int>> tasks{CreateTask(After(absl::ZeroDuration(), 1)),
                                 CreateTask(After(absl::Hours(1), 2))};
    co_await tasks[0];  // Done first: its callback is queued before the timer.
    AsCompleted<int> next(tasks, absl::Milliseconds(1));
    std::vector<std::string> seen;
    while (next.HasNext()) {
      absl::StatusOr<Task<int>> t = co_await next.Next();
      if (!t.ok()) {
        seen.push_back(std::string(t.status().message()));
        break;
      }
      seen.push_back(std::to_string(t->Result()));
    }
    EXPECT_FALSE(tasks[1].Done());
    tasks[1].Cancel();
    co_return seen;
  };
  EXPECT_THAT(loop.RunUntilComplete(main()), ElementsAre("1", "TimeoutError"));
}

TEST(AsCompletedTest, AFailedTaskIsGivenAndRethrowsWhenAwaited) {
  EventLoop loop;
  auto main = []() -> Coroutine<bool> {
    std::vector<Task<int>> tasks{CreateTask(Fail(absl::Milliseconds(1)))};
    AsCompleted<int> next(tasks);
    absl::StatusOr<Task<int>> t = co_await next.Next();
    try {
      co_await t.value();
    } catch (const std::runtime_error&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(loop.RunUntilComplete(main()));
}

// CPython's wait() and as_completed() take futures as they take tasks.
TEST(WaitTest, TakesFutures) {
  EventLoop loop;
  auto main = []() -> Coroutine<bool> {
    Future<int> a;
    Future<int> b;
    std::vector<Future<int>> futures = {a, b};
    a.SetResult(1);
    WaitResult<int, Future<int>> r =
        co_await Wait(futures, {.return_when = ReturnWhen::kFirstCompleted});
    const bool as_python = r.done.size() == 1 && r.done[0] == a &&
                           r.pending.size() == 1 && r.pending[0] == b;
    b.Cancel();
    co_return as_python;
  };
  EXPECT_TRUE(loop.RunUntilComplete(main()));
}

TEST(AsCompletedTest, TakesFutures) {
  EventLoop loop;
  auto main = []() -> Coroutine<std::vector<std::string>> {
    Future<std::string> x;
    Future<std::string> y;
    std::vector<Future<std::string>> futures = {x, y};
    AsCompleted next(futures);
    y.SetResult("y");
    x.SetResult("x");
    std::vector<std::string> order;
    while (next.HasNext()) {
      absl::StatusOr<Future<std::string>> f = co_await next.Next();
      order.push_back(co_await *f);
    }
    co_return order;
  };
  EXPECT_THAT(loop.RunUntilComplete(main()), ElementsAre("y", "x"));
}

}  // namespace
}  // namespace pyconc::asyncio
