// Gather, ported from CPython's test_tasks.py (GatherTests, test_gather_*):
// order, failure, return_exceptions and the cancel semantics.
#include "asyncio/gather.h"

#include <exception>
#include <stdexcept>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

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
using test_coroutines::CancelAfterIterations;
using test_coroutines::Fail;
using test_coroutines::SleepForever;
using test_coroutines::WhenSet;
using ::testing::ElementsAre;

Coroutine<void> Nothing() { co_return; }

TEST(GatherTest, TupleOfResultsInArgumentOrder) {
  EventLoop loop;
  std::vector<int> order;
  auto main = [&]() -> Coroutine<std::tuple<int, std::string, std::monostate>> {
    Task<std::string> text =
        CreateTask([]() -> Coroutine<std::string> { co_return "two"; }());
    co_return co_await Gather(After(absl::Milliseconds(3), 1, &order), text,
                              Nothing());
  };
  auto [one, two, none] = loop.RunUntilComplete(main());
  EXPECT_EQ(one, 1);
  EXPECT_EQ(two, "two");
  (void)none;
}

TEST(GatherTest, VectorOfResultsInOrderWhateverOrderTheyFinish) {
  EventLoop loop;
  std::vector<int> order;
  std::vector<Future<int>> gates;
  for (int i = 0; i < 4; ++i) gates.push_back(loop.CreateFuture<int>());
  auto main = [&]() -> Coroutine<std::vector<int>> {
    std::vector<Task<int>> tasks;
    for (int i = 0; i < 4; ++i) {
      tasks.push_back(CreateTask(WhenSet(gates[i], &order)));
    }
    co_await Sleep(absl::ZeroDuration());  // Every task now waits at its gate.
    for (int i = 3; i >= 0; --i) gates[i].SetResult(i);  // Last one first.
    co_return co_await Gather(tasks);
  };
  EXPECT_THAT(loop.RunUntilComplete(main()), ElementsAre(0, 1, 2, 3));
  EXPECT_THAT(order, ElementsAre(3, 2, 1, 0));
}

Coroutine<std::string> CountRun(int* runs, std::string value) {
  ++*runs;
  co_return value;
}

// CPython's test_duplicate_coroutines. A Coroutine is move-only, so what can
// be passed twice is a Task: it runs once, its value fills every position.
TEST(GatherTest, ATaskPassedTwiceRunsOnceAndFillsEachPosition) {
  EventLoop loop;
  int runs = 0;
  using Strings =
      std::tuple<std::string, std::string, std::string, std::string>;
  auto main = [&]() -> Coroutine<Strings> {
    Task<std::string> abc = CreateTask(CountRun(&runs, "abc"));
    co_return co_await Gather(abc, abc, CountRun(&runs, "def"), abc);
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), Strings("abc", "abc", "def", "abc"));
  EXPECT_EQ(runs, 2);
}

TEST(GatherTest, ATaskRepeatedInAVectorFillsEachPosition) {
  EventLoop loop;
  auto main = []() -> Coroutine<std::vector<int>> {
    Task<int> one = CreateTask(After(absl::ZeroDuration(), 1));
    Task<int> two = CreateTask(After(absl::ZeroDuration(), 2));
    std::vector<Task<int>> tasks{one, two, one, one};
    co_return co_await Gather(tasks);
  };
  EXPECT_THAT(loop.RunUntilComplete(main()), ElementsAre(1, 2, 1, 1));
}

TEST(GatherTest, ADuplicatedFailureIsRaisedOnceAndRetrieved) {
  EventLoop loop;
  int reports = 0;
  loop.SetExceptionHandler(
      [&](EventLoop&, const ExceptionContext&) { ++reports; });
  auto main = []() -> Coroutine<std::string> {
    Task<int> bad = CreateTask(Fail(absl::ZeroDuration(), "boom"));
    try {
      co_await Gather(bad, bad);
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "no exception";
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), "boom");
  EXPECT_EQ(reports, 0);
}

TEST(GatherTest, ReturnExceptionsHoldsADuplicatedErrorAtEachPosition) {
  EventLoop loop;
  auto main = []() -> Coroutine<std::vector<Outcome<int>>> {
    Task<int> bad = CreateTask(Fail(absl::ZeroDuration(), "bad"));
    Task<int> good = CreateTask(After(absl::ZeroDuration(), 1));
    std::vector<Task<int>> tasks{bad, good, bad};
    co_return co_await Gather(kReturnExceptions, tasks);
  };
  std::vector<Outcome<int>> out = loop.RunUntilComplete(main());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_FALSE(out[0].ok());
  EXPECT_EQ(out[1].value(), 1);
  EXPECT_EQ(out[2].error(), out[0].error());  // The one exception, twice.
}

// Python's _GatheringFuture.cancel() cancels each position's child, so a
// task passed twice gets two cancellation requests.
TEST(GatherTest, CancellingTheAwaiterCancelsADuplicatedChildOncePerPosition) {
  EventLoop loop;
  auto main = []() -> Coroutine<int> {
    Task<int> child = CreateTask(SleepForever());
    Task<void> gathering = CreateTask(
        [](Task<int> c) -> Coroutine<void> { co_await Gather(c, c); }(child));
    co_await Sleep(absl::ZeroDuration());  // Both are suspended now.
    EXPECT_TRUE(gathering.Cancel());
    try {
      co_await gathering;
    } catch (const CancelledError&) {
    }
    EXPECT_TRUE(gathering.Cancelled());
    EXPECT_TRUE(child.Cancelled());
    co_return child.Cancelling();
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), 2);
}

TEST(GatherTest, EmptyInputGivesEmptyResult) {
  EventLoop loop;
  auto main = []() -> Coroutine<size_t> {
    std::vector<int> values = co_await Gather(std::vector<Task<int>>{});
    std::tuple<> none = co_await Gather();
    (void)none;
    co_return values.size();
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), 0u);
}

TEST(GatherTest, TotalTimeIsAboutTheLongestNotTheSum) {
  EventLoop loop;
  const absl::Time start = absl::Now();
  auto main = []() -> Coroutine<int> {
    auto [a, b, c] = co_await Gather(After(absl::Milliseconds(30), 1),
                                     After(absl::Milliseconds(30), 2),
                                     After(absl::Milliseconds(30), 3));
    co_return a + b + c;
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), 6);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(30));
}

TEST(GatherTest, FirstExceptionPropagatesWhileOthersKeepRunning) {
  EventLoop loop;
  std::vector<int> order;
  Future<int> gate = loop.CreateFuture<int>();
  Task<int> slow;
  auto main = [&]() -> Coroutine<std::string> {
    slow = CreateTask(WhenSet(gate, &order));
    try {
      co_await Gather(Fail(absl::Milliseconds(1), "boom"), slow);
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "no exception";
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), "boom");
  EXPECT_FALSE(slow.Done());  // Not cancelled by the failure.
  gate.SetResult(7);
  EXPECT_EQ(loop.RunUntilComplete(slow), 7);
  EXPECT_THAT(order, ElementsAre(7));
}

TEST(GatherTest, ReturnExceptionsHoldsErrorsInPlace) {
  EventLoop loop;
  auto main = []() -> Coroutine<std::vector<Outcome<int>>> {
    std::vector<Task<int>> tasks;
    tasks.push_back(CreateTask(After(absl::Milliseconds(2), 1)));
    tasks.push_back(CreateTask(Fail(absl::Milliseconds(1), "bad")));
    tasks.push_back(CreateTask(SleepForever()));
    tasks.back().Cancel("stop");
    co_return co_await Gather(kReturnExceptions, tasks);
  };
  std::vector<Outcome<int>> out = loop.RunUntilComplete(main());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].ok());
  EXPECT_EQ(out[0].value(), 1);
  EXPECT_FALSE(out[1].ok());
  EXPECT_THROW(out[1].value(), std::runtime_error);
  EXPECT_TRUE(out[2].cancelled());
  try {
    std::rethrow_exception(out[2].error());
  } catch (const CancelledError& e) {
    EXPECT_EQ(e.message(), "stop");
  }
}

TEST(GatherTest, ReturnExceptionsTuple) {
  EventLoop loop;
  auto main = []() -> Coroutine<bool> {
    auto [a, b] =
        co_await Gather(kReturnExceptions, After(absl::Milliseconds(1), 5),
                        Fail(absl::Milliseconds(1), "x"));
    co_return a.ok() && a.value() == 5 && !b.ok();
  };
  EXPECT_TRUE(loop.RunUntilComplete(main()));
}

TEST(GatherTest, ACancelledChildRaisesCancelledErrorButTheAwaiterIsNot) {
  EventLoop loop;
  auto main = []() -> Coroutine<int> {
    Task<int> child = CreateTask(SleepForever());
    Task<int> other = CreateTask(After(absl::Milliseconds(1), 1));
    child.Cancel("child");
    std::string message = "<none>";
    try {
      co_await Gather(child, other);
    } catch (const CancelledError& e) {
      message = e.message();
    }
    EXPECT_EQ(message, "child");
    EXPECT_EQ(co_await other, 1);  // Still running, not cancelled.
    co_return CurrentTask()->Cancelling();
  };
  Task<int> task = loop.CreateTask(main());
  EXPECT_EQ(loop.RunUntilComplete(task), 0);
  EXPECT_FALSE(task.Cancelled());
}

TEST(GatherTest, CancellingTheAwaiterCancelsEveryChild) {
  EventLoop loop;
  std::vector<Task<int>> children;
  auto main = [&]() -> Coroutine<void> {
    for (int i = 0; i < 3; ++i) children.push_back(CreateTask(SleepForever()));
    co_await Gather(children);
  };
  Task<void> task = loop.CreateTask(main());
  loop.CallLater(absl::Milliseconds(1),
                 [&] { EXPECT_TRUE(task.Cancel("outer")); });
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
  ASSERT_EQ(children.size(), 3u);
  for (const Task<int>& child : children) EXPECT_TRUE(child.Cancelled());
}

TEST(GatherTest, CancelPropagatesEvenWithReturnExceptionsAfterAllChildren) {
  EventLoop loop;
  std::vector<std::string> events;
  auto stubborn = [&]() -> Coroutine<int> {
    try {
      co_await Sleep(absl::Hours(1));
    } catch (const CancelledError&) {
      events.push_back("child swallowed the cancel");
    }
    co_await Sleep(absl::Milliseconds(2));
    events.push_back("child returned");
    co_return 3;
  };
  auto main = [&]() -> Coroutine<void> {
    try {
      co_await Gather(kReturnExceptions, stubborn(), SleepForever());
    } catch (const CancelledError& e) {
      events.push_back("gather raised " + e.message());
      throw;
    }
  };
  Task<void> task = loop.CreateTask(main());
  CancelAfterIterations(loop, task, 3, "bye");  // The children are asleep.
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
  EXPECT_THAT(events, ElementsAre("child swallowed the cancel",
                                  "child returned", "gather raised bye"));
}

TEST(GatherTest, CancelAfterAllChildrenAreDoneCancelsTheAwaiterItself) {
  EventLoop loop;
  auto main = []() -> Coroutine<int> {
    Task<int> child = CreateTask(After(absl::ZeroDuration(), 1));
    co_await child;  // Done before Gather sees it.
    CurrentTask()->Cancel();
    std::vector<Task<int>> children{child};
    co_await Gather(children);
    co_return 0;
  };
  Task<int> task = loop.CreateTask(main());
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
}

TEST(GatherTest, LateExceptionsAreMarkedRetrieved) {
  EventLoop loop;
  int reports = 0;
  loop.SetExceptionHandler(
      [&](EventLoop&, const ExceptionContext&) { ++reports; });
  {
    auto fail_when_set = [](Future<int> gate) -> Coroutine<int> {
      co_await gate;
      throw std::runtime_error("b");
    };
    auto main = [&]() -> Coroutine<void> {
      Future<int> gate;
      Task<int> late = CreateTask(fail_when_set(gate));
      try {
        co_await Gather(Fail(absl::ZeroDuration(), "a"), late);
      } catch (const std::runtime_error&) {
      }
      // b fails now, after Gather answered. Its done callbacks run in the
      // order they were added: Gather's (which retrieves the exception),
      // then this one.
      Future<void> callbacks_ran;
      late.AddDoneCallback(
          [callbacks_ran](Task<int>&) mutable { callbacks_ran.SetResult(); });
      gate.SetResult(0);
      co_await callbacks_ran;
    };
    loop.RunUntilComplete(main());
  }
  EXPECT_EQ(reports, 0);
}

// CPython's gather takes futures as it takes tasks and coroutines.
TEST(GatherTest, TakesFutures) {
  EventLoop loop;
  auto main = []() -> Coroutine<int> {
    Future<int> a;
    Future<int> b;
    std::vector<Future<int>> futures = {a, b};
    b.SetResult(2);
    a.SetResult(1);
    std::vector<int> values = co_await Gather(futures);
    auto [x, y] = co_await Gather(a, After(absl::ZeroDuration(), 10));
    std::vector<Outcome<int>> outcomes =
        co_await Gather(kReturnExceptions, futures);
    co_return values[0] * 1000 + values[1] * 100 + x + y + outcomes[1].value();
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), 1000 + 200 + 1 + 10 + 2);
}

TEST(GatherTest, CancellingTheAwaiterCancelsAFutureChild) {
  EventLoop loop;
  Future<int> child = loop.CreateFuture<int>();
  auto waiter = [&]() -> Coroutine<void> {
    std::vector<Future<int>> children = {child};
    co_await Gather(children);
  };
  auto main = [&]() -> Coroutine<bool> {
    Task<void> task = CreateTask(waiter());
    co_await Sleep(absl::ZeroDuration());  // The waiter is in Gather.
    task.Cancel();
    try {
      co_await task;
    } catch (const CancelledError&) {
    }
    co_return task.Cancelled();
  };
  EXPECT_TRUE(loop.RunUntilComplete(main()));
  EXPECT_TRUE(child.Cancelled());
}

// Gather waits on each child through a node the child schedules itself. The
// three ways such a node can outlive the Gather that made it, each checked
// under AddressSanitizer for use after free and leaks.

// The loop closes with Gather still waiting on a child: both tasks are
// destroyed pending, in whatever order.
TEST(GatherTest, TheLoopClosingUnderAPendingGatherReleasesIt) {
  EventLoop loop;
  std::vector<std::string> reports;
  loop.SetExceptionHandler([&](EventLoop&, const ExceptionContext& c) {
    reports.push_back(c.message);
  });
  Task<void> gatherer;
  loop.RunUntilComplete([&]() -> Coroutine<void> {
    gatherer = CreateTask([]() -> Coroutine<void> {
      co_await Gather(SleepForever(), SleepForever());
    }());
    co_await Sleep(absl::ZeroDuration());  // The gatherer is in Gather,
    co_await Sleep(absl::ZeroDuration());  // and its children asleep.
  }());
  loop.Close();
  EXPECT_FALSE(gatherer.Done());
  // The gathering task and its two children.
  EXPECT_EQ(reports.size(), 3u);
}

// Gathers `children` and gives the message of the failure it raises.
Coroutine<std::string> FirstFailureOf(std::vector<Future<int>> children) {
  try {
    co_await Gather(children);
  } catch (const std::runtime_error& e) {
    co_return e.what();
  }
  co_return "no error";
}

// What `scenario(a, b)` gave, on a loop of its own with two pending futures,
// and how many exceptions that loop reported by the time a and b went.
struct TwoFutureRun {
  std::string got;
  int reports = 0;
};
template <typename Scenario>
TwoFutureRun RunWithTwoFutures(Scenario scenario) {
  EventLoop loop;
  TwoFutureRun run;
  loop.SetExceptionHandler(
      [&](EventLoop&, const ExceptionContext&) { ++run.reports; });
  {
    Future<int> a = loop.CreateFuture<int>();
    Future<int> b = loop.CreateFuture<int>();
    run.got = loop.RunUntilComplete(scenario(a, b));
  }
  return run;
}

// Gather answered with a's exception; b, a Future still pending then, fails
// later: its exception counts as retrieved, as CPython's gather marks it
// (tasks.py, _done_callback: "if outer.done(): ... fut.exception()").
// Then b goes with nothing left waiting on it.
TEST(GatherTest, AFutureFailingAfterGatherAnsweredIsMarkedRetrieved) {
  const TwoFutureRun run = RunWithTwoFutures(
      [](Future<int> a, Future<int> b) -> Coroutine<std::string> {
        Task<std::string> gatherer = CreateTask(FirstFailureOf({a, b}));
        co_await Sleep(absl::ZeroDuration());  // The gatherer is in Gather.
        a.SetException(std::make_exception_ptr(std::runtime_error("a")));
        std::string got = co_await gatherer;
        b.SetException(std::make_exception_ptr(std::runtime_error("b")));
        co_await Sleep(absl::ZeroDuration());  // b's callback runs.
        co_return got;
      });
  EXPECT_EQ(run.got, "a");
  EXPECT_EQ(run.reports, 0);
}

// b fails in the iteration a's failure answers Gather, before the gathering
// task resumes: b's node is queued when the Gather goes, and runs after it.
TEST(GatherTest, AChildDoneAsGatherGoesStillHasItsExceptionRetrieved) {
  const TwoFutureRun run = RunWithTwoFutures(
      [](Future<int> a, Future<int> b) -> Coroutine<std::string> {
        Task<std::string> gatherer = CreateTask(FirstFailureOf({a, b}));
        co_await Sleep(absl::ZeroDuration());  // The gatherer is in Gather.
        // Queued in this order: a's node, then the callback failing b. a's
        // node wakes the gatherer, which is queued after that callback, and
        // b's node after the gatherer.
        a.SetException(std::make_exception_ptr(std::runtime_error("a")));
        GetRunningLoop().CallSoon([b]() mutable {
          b.SetException(std::make_exception_ptr(std::runtime_error("b")));
        });
        std::string got = co_await gatherer;
        co_await Sleep(absl::ZeroDuration());  // b's node has run.
        co_return got;
      });
  EXPECT_EQ(run.got, "a");
  EXPECT_EQ(run.reports, 0);
}

}  // namespace
}  // namespace pyconc::asyncio
