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
  const absl::Time start = absl::Now();
  auto main = []() -> Coroutine<WaitResult<int>> {
    std::vector<Task<int>> tasks{CreateTask(After(absl::Milliseconds(1), 1)),
                                 CreateTask(After(absl::Hours(1), 2))};
    co_return co_await Wait(tasks, {.timeout = absl::Milliseconds(10)});
  };
  WaitResult<int> r = loop.RunUntilComplete(main());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(10));
  EXPECT_THAT(Values(r.done), ElementsAre(1));
  ASSERT_EQ(r.pending.size(), 1u);
  EXPECT_FALSE(r.pending[0].Done());
  r.pending[0].Cancel();
  loop.RunUntilDone(r.pending[0].base());
}

TEST(WaitTest, CancellingTheWaiterLeavesTheTasksAlone) {
  EventLoop loop;
  std::vector<Task<int>> tasks;
  auto main = [&]() -> Coroutine<void> {
    tasks = {CreateTask(After(absl::Milliseconds(5), 1))};
    co_await Wait(tasks);
  };
  Task<void> task = loop.CreateTask(main());
  loop.CallLater(absl::Milliseconds(1), [&] { task.Cancel("stop"); });
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_FALSE(tasks[0].Done());
  EXPECT_EQ(loop.RunUntilComplete(tasks[0]), 1);
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
    std::vector<Task<int>> tasks;
    for (int i = 0; i < 4; ++i) {
      tasks.push_back(CreateTask(After(absl::Milliseconds(4 - i), i)));
    }
    AsCompleted<int> next(tasks);
    std::vector<int> order;
    while (next.HasNext()) {
      absl::StatusOr<Task<int>> t = co_await next.Next();
      order.push_back(co_await t.value());
    }
    co_return order;
  };
  EXPECT_THAT(loop.RunUntilComplete(main()), ElementsAre(3, 2, 1, 0));
}

TEST(AsCompletedTest, TimeoutAnswersTimeoutErrorAndCancelsNothing) {
  EventLoop loop;
  auto main = []() -> Coroutine<std::vector<std::string>> {
    std::vector<Task<int>> tasks{CreateTask(After(absl::Milliseconds(1), 1)),
                                 CreateTask(After(absl::Hours(1), 2))};
    AsCompleted<int> next(tasks, absl::Milliseconds(10));
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

}  // namespace
}  // namespace pyconc::asyncio
