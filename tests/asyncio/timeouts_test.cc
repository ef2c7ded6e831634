// Timeout, TimeoutAt, WaitFor and Shield, ported from CPython's
// test_timeouts.py, test_waitfor.py and test_tasks.py (test_shield_*).
#include "asyncio/timeouts.h"

#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "asyncio/errors.h"
#include "asyncio/loop.h"
#include "asyncio/shield.h"
#include "asyncio/sleep.h"
#include "asyncio/task.h"
#include "asyncio/wait.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/asyncio/test_coroutines.h"

namespace pyconc::asyncio {
namespace {

using test_coroutines::After;
using test_coroutines::CancelAfterIterations;
using test_coroutines::SleepForever;
using test_coroutines::WhenSet;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

bool IsTimeoutError(const absl::Status& status) {
  return status.code() == absl::StatusCode::kDeadlineExceeded &&
         absl::StrContains(status.message(), "TimeoutError");
}

// --- Timeout ---------------------------------------------------------------

TEST(TimeoutTest, ExpiresAndAnswersTimeoutError) {
  EventLoop loop;
  auto main = []() -> Coroutine<bool> {
    Timeout timeout(absl::Milliseconds(10));
    absl::StatusOr<int> r = co_await timeout.Run(SleepForever());
    EXPECT_TRUE(IsTimeoutError(r.status())) << r.status();
    EXPECT_EQ(CurrentTask()->Cancelling(), 0);  // Uncancelled.
    co_return timeout.Expired();
  };
  Task<bool> task = loop.CreateTask(main());
  EXPECT_TRUE(loop.RunUntilComplete(task));
  EXPECT_FALSE(task.Cancelled());
}

TEST(TimeoutTest, NotExpiredGivesTheValue) {
  EventLoop loop;
  auto main = []() -> Coroutine<int> {
    Timeout timeout(absl::Hours(1));
    absl::StatusOr<int> r =
        co_await timeout.Run(After(absl::ZeroDuration(), 4));
    EXPECT_FALSE(timeout.Expired());
    co_return r.value();
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), 4);
}

TEST(TimeoutTest, InfiniteIsNoneAndRescheduleArmsIt) {
  EventLoop loop;
  auto main = [&]() -> Coroutine<bool> {
    Timeout timeout(absl::InfiniteDuration());
    EXPECT_EQ(timeout.When(), absl::InfiniteFuture());
    auto body = [&]() -> Coroutine<void> {
      timeout.Reschedule(loop.Time() + absl::Milliseconds(5));
      co_await Sleep(absl::Hours(1));
    };
    absl::Status s = co_await timeout.Run(body());
    co_return IsTimeoutError(s) && timeout.Expired();
  };
  EXPECT_TRUE(loop.RunUntilComplete(main()));
}

TEST(TimeoutTest, RescheduleToInfinityDisarmsIt) {
  EventLoop loop;
  auto main = [&]() -> Coroutine<bool> {
    Timeout timeout(absl::Milliseconds(2));
    auto body = [&]() -> Coroutine<int> {
      timeout.Reschedule(absl::InfiniteFuture());
      co_return co_await After(absl::Milliseconds(10), 1);
    };
    absl::StatusOr<int> r = co_await timeout.Run(body());
    co_return r.ok() && !timeout.Expired();
  };
  EXPECT_TRUE(loop.RunUntilComplete(main()));
}

TEST(TimeoutTest, TimeoutAtInThePastExpiresAtOnce) {
  EventLoop loop;
  auto main = [&]() -> Coroutine<bool> {
    absl::Status s =
        co_await TimeoutAt(loop.Time() - absl::Seconds(1))
            .Run([]() -> Coroutine<void> { co_await Sleep(absl::Hours(1)); }());
    co_return IsTimeoutError(s);
  };
  EXPECT_TRUE(loop.RunUntilComplete(main()));
}

TEST(TimeoutTest, NestedWithOneDeadlineOnlyTheOutermostAnswers) {
  EventLoop loop;
  std::vector<std::string> events;
  auto main = [&]() -> Coroutine<void> {
    Timeout outer(absl::Milliseconds(5));
    Timeout inner(outer.When());
    auto middle = [&]() -> Coroutine<void> {
      try {
        absl::StatusOr<int> r = co_await inner.Run(SleepForever());
        events.push_back("inner answered " + r.status().ToString());
      } catch (const CancelledError&) {
        events.push_back("inner let CancelledError through");
        throw;
      }
    };
    absl::Status s = co_await outer.Run(middle());
    events.push_back(IsTimeoutError(s) ? "outer TimeoutError" : "outer other");
    EXPECT_TRUE(inner.Expired());
    EXPECT_TRUE(outer.Expired());
  };
  loop.RunUntilComplete(main());
  EXPECT_THAT(events, ElementsAre("inner let CancelledError through",
                                  "outer TimeoutError"));
}

TEST(TimeoutTest, NestedInnerShorterAnswersAndOuterGoesOn) {
  EventLoop loop;
  auto main = []() -> Coroutine<bool> {
    Timeout outer(absl::Hours(1));
    bool inner_timed_out = false;
    auto body = [&]() -> Coroutine<int> {
      absl::StatusOr<int> r =
          co_await Timeout(absl::Milliseconds(2)).Run(SleepForever());
      inner_timed_out = IsTimeoutError(r.status());
      co_return 5;
    };
    absl::StatusOr<int> r = co_await outer.Run(body());
    co_return inner_timed_out&& r.ok() && *r == 5 && !outer.Expired();
  };
  EXPECT_TRUE(loop.RunUntilComplete(main()));
}

TEST(TimeoutTest, ACancelFromElsewhereStaysACancel) {
  EventLoop loop;
  bool expired = true;
  auto main = [&]() -> Coroutine<void> {
    Timeout timeout(absl::Hours(1));
    try {
      (void)co_await timeout.Run(SleepForever());
    } catch (const CancelledError&) {
      expired = timeout.Expired();
      throw;
    }
  };
  Task<void> task = loop.CreateTask(main());
  loop.CallLater(absl::Milliseconds(1), [&] { task.Cancel("elsewhere"); });
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
  EXPECT_FALSE(expired);
}

TEST(TimeoutTest, ExpiryAndAnOuterCancelTogetherStayACancel) {
  EventLoop loop;
  auto main = []() -> Coroutine<void> {
    Timeout timeout(absl::Milliseconds(1));
    auto body = []() -> Coroutine<void> {
      try {
        co_await Sleep(absl::Hours(1));
      } catch (const CancelledError&) {
      }
      // Expired once; a second cancel arrives from elsewhere.
      CurrentTask()->Cancel("elsewhere");
      co_await Sleep(absl::Hours(1));
    };
    (void)co_await timeout.Run(body());
  };
  Task<void> task = loop.CreateTask(main());
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
}

TEST(TimeoutTest, CleanupThatAwaitsRunsBeforeTheTimeoutError) {
  EventLoop loop;
  std::vector<std::string> events;
  auto body = [&]() -> Coroutine<void> {
    bool cancelled = false;
    try {
      co_await Sleep(absl::Hours(1));
    } catch (const CancelledError&) {
      cancelled = true;
    }
    if (cancelled) {
      co_await Sleep(absl::Milliseconds(2));
      events.push_back("cleanup done");
      throw CancelledError();
    }
  };
  auto main = [&]() -> Coroutine<void> {
    absl::Status s = co_await Timeout(absl::Milliseconds(2)).Run(body());
    events.push_back(IsTimeoutError(s) ? "TimeoutError" : s.ToString());
  };
  loop.RunUntilComplete(main());
  EXPECT_THAT(events, ElementsAre("cleanup done", "TimeoutError"));
}

TEST(TimeoutTest, ABodyExceptionPassesThrough) {
  EventLoop loop;
  auto main = []() -> Coroutine<void> {
    (void)co_await Timeout(absl::Hours(1)).Run([]() -> Coroutine<void> {
      co_await Sleep(absl::ZeroDuration());
      throw std::runtime_error("body");
    }());
  };
  EXPECT_THROW(loop.RunUntilComplete(main()), std::runtime_error);
}

TEST(TimeoutDeathTest, RescheduleBeforeRunIsMisuse) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        auto main = []() -> Coroutine<void> {
          Timeout timeout(absl::Hours(1));
          timeout.Reschedule(absl::InfiniteFuture());
          co_return;
        };
        loop.RunUntilComplete(main());
      },
      "RuntimeError.*not been entered");
}

// CPython's Timeout.reschedule names the state: "expired" after a timeout,
// "finished" after a normal exit, "expiring" inside once the deadline passed.
TEST(TimeoutDeathTest, RescheduleAnExpiredTimeoutIsMisuse) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        auto main = []() -> Coroutine<void> {
          Timeout timeout(absl::Milliseconds(1));
          (void)co_await timeout.Run(SleepForever());
          timeout.Reschedule(absl::InfiniteFuture());
        };
        loop.RunUntilComplete(main());
      },
      "RuntimeError: Cannot change state of expired Timeout");
}

TEST(TimeoutDeathTest, RescheduleAFinishedTimeoutIsMisuse) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        auto main = []() -> Coroutine<void> {
          Timeout timeout(absl::Hours(1));
          (void)co_await timeout.Run(After(absl::ZeroDuration(), 1));
          timeout.Reschedule(absl::InfiniteFuture());
        };
        loop.RunUntilComplete(main());
      },
      "RuntimeError: Cannot change state of finished Timeout");
}

TEST(TimeoutDeathTest, RescheduleAnExpiringTimeoutIsMisuse) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        auto main = []() -> Coroutine<void> {
          Timeout timeout(absl::Milliseconds(1));
          (void)co_await timeout.Run([&]() -> Coroutine<void> {
            try {
              co_await Sleep(absl::Hours(1));
            } catch (const CancelledError&) {
              timeout.Reschedule(absl::InfiniteFuture());
            }
          }());
        };
        loop.RunUntilComplete(main());
      },
      "RuntimeError: Cannot change state of expiring Timeout");
}

TEST(TimeoutDeathTest, RunTwiceIsMisuse) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        auto main = []() -> Coroutine<void> {
          Timeout timeout(absl::Hours(1));
          (void)co_await timeout.Run(After(absl::ZeroDuration(), 1));
          (void)co_await timeout.Run(After(absl::ZeroDuration(), 1));
        };
        loop.RunUntilComplete(main());
      },
      "RuntimeError.*already been entered");
}

// --- WaitFor ---------------------------------------------------------------

TEST(WaitForTest, FastEnoughGivesTheValue) {
  EventLoop loop;
  auto main = []() -> Coroutine<int> {
    absl::StatusOr<int> r =
        co_await WaitFor(After(absl::Milliseconds(1), 7), absl::Hours(1));
    co_return r.value();
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), 7);
}

TEST(WaitForTest, TimeoutCancelsTheInnerAndWaitsForItsCleanup) {
  EventLoop loop;
  std::vector<std::string> events;
  Task<int> inner;
  auto main = [&]() -> Coroutine<void> {
    inner = CreateTask(SleepForever(&events));
    absl::StatusOr<int> r = co_await WaitFor(inner, absl::Milliseconds(5));
    EXPECT_TRUE(IsTimeoutError(r.status()));
    EXPECT_TRUE(inner.Cancelled());
    events.push_back("wait_for answered");
  };
  loop.RunUntilComplete(main());
  EXPECT_THAT(events, ElementsAre("inner cleanup", "wait_for answered"));
}

TEST(WaitForTest, ZeroTimeoutNeverStartsACoroutine) {
  EventLoop loop;
  bool started = false;
  auto body = [&]() -> Coroutine<int> {
    started = true;
    co_return 1;
  };
  auto main = [&]() -> Coroutine<bool> {
    absl::StatusOr<int> r = co_await WaitFor(body(), absl::ZeroDuration());
    co_return IsTimeoutError(r.status());
  };
  EXPECT_TRUE(loop.RunUntilComplete(main()));
  EXPECT_FALSE(started);
}

TEST(WaitForTest, ZeroTimeoutOnAFinishedTaskGivesItsResult) {
  EventLoop loop;
  auto main = []() -> Coroutine<int> {
    Task<int> task = CreateTask(After(absl::ZeroDuration(), 3));
    while (!task.Done()) co_await Sleep(absl::ZeroDuration());
    absl::StatusOr<int> r = co_await WaitFor(task, -absl::Seconds(1));
    co_return r.value();
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), 3);
}

TEST(WaitForTest, ZeroTimeoutOnAPendingTaskCancelsIt) {
  EventLoop loop;
  std::vector<std::string> events;
  auto main = [&]() -> Coroutine<bool> {
    Task<int> task = CreateTask(SleepForever(&events));
    co_await Sleep(absl::ZeroDuration());
    absl::StatusOr<int> r = co_await WaitFor(task, absl::ZeroDuration());
    co_return IsTimeoutError(r.status()) && task.Cancelled();
  };
  EXPECT_TRUE(loop.RunUntilComplete(main()));
  EXPECT_THAT(events, ElementsAre("inner cleanup"));
}

// CPython's wait_for with timeout <= 0 awaits _cancel_and_wait's own future:
// cancelling the caller raises CancelledError there at once, and the inner,
// cancelled once, goes on to its end.
TEST(WaitForTest, ZeroTimeoutCancellingTheCallerLeavesTheInnerCancelledOnce) {
  EventLoop loop;
  std::vector<std::string> events;
  Future<void> gate = loop.CreateFuture<void>();
  auto inner_body = [&]() -> Coroutine<int> {
    try {
      co_await Sleep(absl::Hours(1));
    } catch (const CancelledError&) {
      events.push_back("inner cancelled");
    }
    co_await gate;
    events.push_back("inner cleanup done");
    co_return 5;
  };
  auto caller_body = [&](Task<int> inner) -> Coroutine<void> {
    (void)co_await WaitFor(inner, absl::ZeroDuration());
    events.push_back("caller not cancelled");
  };
  auto main = [&]() -> Coroutine<int> {
    Task<int> inner = CreateTask(inner_body());
    co_await Sleep(absl::ZeroDuration());
    Task<void> caller = CreateTask(caller_body(inner));
    co_await Sleep(absl::ZeroDuration());  // It cancels the inner, waits.
    caller.Cancel();
    try {
      co_await caller;
    } catch (const CancelledError&) {
      events.push_back("caller cancelled");
    }
    EXPECT_FALSE(inner.Done());
    EXPECT_EQ(inner.Cancelling(), 1);
    gate.SetResult();
    co_return co_await inner;
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), 5);
  EXPECT_THAT(events, ElementsAre("inner cancelled", "caller cancelled",
                                  "inner cleanup done"));
}

TEST(WaitForTest, AnInnerThatSwallowsTheCancelGivesItsValue) {
  EventLoop loop;
  auto stubborn = []() -> Coroutine<int> {
    try {
      co_await Sleep(absl::Hours(1));
    } catch (const CancelledError&) {
    }
    co_return 42;
  };
  auto main = [&]() -> Coroutine<int> {
    absl::StatusOr<int> r = co_await WaitFor(stubborn(), absl::Milliseconds(2));
    co_return r.value();
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), 42);
}

TEST(WaitForTest, CancellingTheCallerCancelsTheInner) {
  EventLoop loop;
  std::vector<std::string> events;
  Task<int> inner;
  auto main = [&]() -> Coroutine<void> {
    inner = CreateTask(SleepForever(&events));
    (void)co_await WaitFor(inner, absl::Hours(1));
  };
  Task<void> task = loop.CreateTask(main());
  CancelAfterIterations(loop, task, 3);  // The inner is asleep by then.
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
  EXPECT_TRUE(inner.Cancelled());
  EXPECT_THAT(events, ElementsAre("inner cleanup"));
}

TEST(WaitForTest, AnInnerExceptionIsRethrown) {
  EventLoop loop;
  auto main = []() -> Coroutine<void> {
    (void)co_await WaitFor(
        []() -> Coroutine<int> {
          co_await Sleep(absl::ZeroDuration());
          throw std::runtime_error("inner");
        }(),
        absl::Hours(1));
  };
  EXPECT_THROW(loop.RunUntilComplete(main()), std::runtime_error);
}

// --- Shield ----------------------------------------------------------------

TEST(ShieldTest, GivesTheInnerResult) {
  EventLoop loop;
  auto main = []() -> Coroutine<int> {
    co_return co_await Shield(After(absl::Milliseconds(1), 9));
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), 9);
}

TEST(ShieldTest, CancellingTheOuterLeavesTheInnerRunning) {
  EventLoop loop;
  Future<int> gate = loop.CreateFuture<int>();
  Task<int> inner;
  auto main = [&]() -> Coroutine<int> {
    inner = CreateTask(WhenSet(gate));
    co_return co_await Shield(inner);
  };
  Task<int> task = loop.CreateTask(main());
  loop.CallLater(absl::Milliseconds(1), [&] { task.Cancel(); });
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
  EXPECT_FALSE(inner.Done());
  gate.SetResult(11);
  EXPECT_EQ(loop.RunUntilComplete(inner), 11);
}

TEST(ShieldTest, ACancelledInnerCancelsTheOuter) {
  EventLoop loop;
  auto main = []() -> Coroutine<bool> {
    Task<int> inner = CreateTask(SleepForever());
    Future<int> outer = Shield(inner);
    inner.Cancel();
    try {
      co_await outer;
    } catch (const CancelledError&) {
      co_return outer.Cancelled();
    }
    co_return false;
  };
  EXPECT_TRUE(loop.RunUntilComplete(main()));
}

TEST(ShieldTest, AnInnerExceptionReachesTheOuter) {
  EventLoop loop;
  auto main = []() -> Coroutine<void> {
    co_await Shield([]() -> Coroutine<void> {
      co_await Sleep(absl::ZeroDuration());
      throw std::runtime_error("inner");
    }());
  };
  EXPECT_THROW(loop.RunUntilComplete(main()), std::runtime_error);
}

// CPython's shield: a cancelled outer removes the inner's done callback, so
// an exception the inner raises later is reported when the inner goes
// ("Task exception was never retrieved"), not swallowed.
TEST(ShieldTest, AnInnerExceptionAfterTheOuterWasCancelledIsReported) {
  EventLoop loop;
  std::vector<std::string> reports;
  loop.SetExceptionHandler([&](EventLoop&, const ExceptionContext& context) {
    reports.push_back(context.message);
  });
  Future<void> gate = loop.CreateFuture<void>();
  auto main = [&]() -> Coroutine<void> {
    Task<void> inner = CreateTask([](Future<void> gate) -> Coroutine<void> {
      co_await gate;
      throw std::runtime_error("late");
    }(gate));
    Future<void> outer = Shield(inner);
    outer.Cancel();
    co_await Sleep(absl::ZeroDuration());  // The outer's callback runs.
    gate.SetResult();
    std::vector<Task<void>> tasks = {inner};
    co_await Wait(std::move(tasks));  // Retrieves nothing.
    EXPECT_TRUE(reports.empty());
  };  // The inner's last handle goes with main's frame.
  loop.RunUntilComplete(main());
  EXPECT_THAT(reports, ElementsAre("Task exception was never retrieved"));
}

// CPython's wait_for(fut, timeout) and shield(fut) on a plain future.
TEST(WaitForTest, ATimeoutCancelsAFuture) {
  EventLoop loop;
  auto main = []() -> Coroutine<bool> {
    Future<int> f;
    absl::StatusOr<int> r = co_await WaitFor(f, absl::Milliseconds(1));
    co_return IsTimeoutError(r.status()) && f.Cancelled();
  };
  EXPECT_TRUE(loop.RunUntilComplete(main()));
}

TEST(WaitForTest, ZeroTimeoutOnFutures) {
  EventLoop loop;
  auto main = []() -> Coroutine<bool> {
    Future<int> pending;
    absl::StatusOr<int> r = co_await WaitFor(pending, absl::ZeroDuration());
    Future<int> done;
    done.SetResult(3);
    absl::StatusOr<int> s = co_await WaitFor(done, absl::ZeroDuration());
    co_return IsTimeoutError(r.status()) && pending.Cancelled() && *s == 3;
  };
  EXPECT_TRUE(loop.RunUntilComplete(main()));
}

TEST(WaitForTest, AFutureSetInTimeGivesItsValue) {
  EventLoop loop;
  auto main = []() -> Coroutine<int> {
    Future<int> f;
    f.SetResult(4);
    absl::StatusOr<int> r = co_await WaitFor(f, absl::Hours(1));
    co_return r.value();
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), 4);
}

TEST(ShieldTest, TakesAFuture) {
  EventLoop loop;
  auto main = []() -> Coroutine<int> {
    Future<int> cancelled_inner;
    Future<int> outer = Shield(cancelled_inner);
    outer.Cancel();
    EXPECT_FALSE(cancelled_inner.Cancelled());
    cancelled_inner.SetResult(5);
    Future<int> inner;
    inner.SetResult(9);
    co_return co_await Shield(inner);
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), 9);
}

}  // namespace
}  // namespace pyconc::asyncio
