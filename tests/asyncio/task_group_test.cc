// TaskGroup, ported from CPython's test_taskgroups.py (3.13): completion,
// failure cancelling the rest, ExceptionGroup, outside cancellation, nested
// groups, cleanup that awaits, errors raised while cancelling, and misuse;
// then what loop close does to a group still waiting (pyconc's policy).
#include "asyncio/task_group.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
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

using test_coroutines::After;
using test_coroutines::CancelAfterIterations;
using test_coroutines::Fail;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// Sleeps an hour; records its cancellation, optionally awaiting in cleanup.
Coroutine<int> Sleeper(std::vector<std::string>* events, std::string name,
                       absl::Duration cleanup = absl::ZeroDuration()) {
  bool cancelled = false;
  try {
    co_await Sleep(absl::Hours(1));
  } catch (const CancelledError&) {
    cancelled = true;
  }
  if (cancelled) {
    if (cleanup > absl::ZeroDuration()) co_await Sleep(cleanup);
    events->push_back(name + " cancelled");
    throw CancelledError();
  }
  co_return 0;
}

std::vector<std::string> Messages(const ExceptionGroup& group) {
  std::vector<std::string> out;
  for (const std::exception_ptr& e : group.exceptions()) {
    try {
      std::rethrow_exception(e);
    } catch (const ExceptionGroup& inner) {
      out.push_back(std::string("group: ") + inner.what());
    } catch (const std::exception& error) {
      out.push_back(error.what());
    }
  }
  return out;
}

TEST(TaskGroupTest, WaitsForEveryTask) {
  EventLoop loop;
  auto main = []() -> Coroutine<int> {
    TaskGroup group;
    Task<int> a, b;
    co_await group.Run([&]() -> Coroutine<void> {
      a = group.CreateTask(After(absl::Milliseconds(3), 1));
      b = group.CreateTask(After(absl::Milliseconds(1), 2));
      co_return;
    }());
    EXPECT_TRUE(a.Done());
    EXPECT_TRUE(b.Done());
    co_return a.Result() + b.Result();
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), 3);
}

TEST(TaskGroupTest, AFailureCancelsTheOthersAndTheBody) {
  EventLoop loop;
  std::vector<std::string> events;
  auto main = [&]() -> Coroutine<std::vector<std::string>> {
    TaskGroup group;
    std::vector<std::string> errors;
    try {
      co_await group.Run([&]() -> Coroutine<void> {
        group.CreateTask(Sleeper(&events, "sleeper"));
        group.CreateTask(Fail(absl::Milliseconds(1), "boom"));
        try {
          co_await Sleep(absl::Hours(1));
        } catch (const CancelledError&) {
          events.push_back("body cancelled");
          throw;
        }
      }());
    } catch (const ExceptionGroup& e) {
      errors = Messages(e);
    }
    // The group uncancelled the parent: it goes on normally.
    EXPECT_EQ(CurrentTask()->Cancelling(), 0);
    co_await Sleep(absl::ZeroDuration());
    co_return errors;
  };
  Task<std::vector<std::string>> task = loop.CreateTask(main());
  EXPECT_THAT(loop.RunUntilComplete(task), ElementsAre("boom"));
  EXPECT_FALSE(task.Cancelled());
  EXPECT_THAT(events,
              UnorderedElementsAre("sleeper cancelled", "body cancelled"));
}

TEST(TaskGroupTest, AllErrorsComeOutTogether) {
  EventLoop loop;
  auto main = []() -> Coroutine<std::vector<std::string>> {
    TaskGroup group;
    try {
      co_await group.Run([&]() -> Coroutine<void> {
        // Both fail in the same step of the loop, before the group can
        // cancel either.
        group.CreateTask(Fail(absl::ZeroDuration(), "one"));
        group.CreateTask(Fail(absl::ZeroDuration(), "two"));
        co_return;
      }());
    } catch (const ExceptionGroup& e) {
      co_return Messages(e);
    }
    co_return std::vector<std::string>{};
  };
  EXPECT_THAT(loop.RunUntilComplete(main()), ElementsAre("one", "two"));
}

TEST(TaskGroupTest, ABodyErrorCancelsTheTasksAndJoinsTheGroup) {
  EventLoop loop;
  std::vector<std::string> events;
  auto main = [&]() -> Coroutine<std::vector<std::string>> {
    TaskGroup group;
    try {
      co_await group.Run([&]() -> Coroutine<void> {
        group.CreateTask(Sleeper(&events, "sleeper"));
        co_await Sleep(absl::Milliseconds(1));
        throw std::runtime_error("body failed");
      }());
    } catch (const ExceptionGroup& e) {
      co_return Messages(e);
    }
    co_return std::vector<std::string>{};
  };
  EXPECT_THAT(loop.RunUntilComplete(main()), ElementsAre("body failed"));
  EXPECT_THAT(events, ElementsAre("sleeper cancelled"));
}

TEST(TaskGroupTest, CancelFromOutsideCancelsTasksAndPropagates) {
  EventLoop loop;
  std::vector<std::string> events;
  auto main = [&]() -> Coroutine<void> {
    TaskGroup group;
    co_await group.Run([&]() -> Coroutine<void> {
      group.CreateTask(Sleeper(&events, "a", absl::Milliseconds(2)));
      group.CreateTask(Sleeper(&events, "b"));
      co_await Sleep(absl::Hours(1));
    }());
    events.push_back("after the group (must not run)");
  };
  Task<void> task = loop.CreateTask(main());
  CancelAfterIterations(loop, task, 3, "outside");
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
  // Both cleaned up before the group let the cancellation out; "a" awaited.
  EXPECT_THAT(events, ElementsAre("b cancelled", "a cancelled"));
}

TEST(TaskGroupTest, CancelWhileExitingCancelsTheTasks) {
  EventLoop loop;
  std::vector<std::string> events;
  auto main = [&]() -> Coroutine<void> {
    TaskGroup group;
    co_await group.Run([&]() -> Coroutine<void> {
      group.CreateTask(Sleeper(&events, "a"));
      co_return;  // The group now waits for "a".
    }());
  };
  Task<void> task = loop.CreateTask(main());
  CancelAfterIterations(loop, task, 3);  // "a" is asleep by then.
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
  EXPECT_THAT(events, ElementsAre("a cancelled"));
}

TEST(TaskGroupTest, ErrorsTakePriorityOverAnOutsideCancel) {
  EventLoop loop;
  auto main = []() -> Coroutine<void> {
    TaskGroup group;
    co_await group.Run([&]() -> Coroutine<void> {
      group.CreateTask([]() -> Coroutine<void> {
        try {
          co_await Sleep(absl::Hours(1));
        } catch (const CancelledError&) {
        }
        throw std::runtime_error("raised while cancelling");
      }());
      co_await Sleep(absl::Hours(1));
    }());
  };
  Task<void> task = loop.CreateTask(main());
  CancelAfterIterations(loop, task, 3);  // The child is asleep by then.
  loop.RunUntilDone(task.base());
  ASSERT_FALSE(task.Cancelled());
  try {
    task.Result();
    ADD_FAILURE() << "no exception";
  } catch (const ExceptionGroup& e) {
    EXPECT_THAT(Messages(e), ElementsAre("raised while cancelling"));
  }
}

// CPython's test_taskgroups.py test_nested_groups_both_cancelled (gh-116720,
// 3.13): a member task whose inner group fails while the outer group cancels
// it gets the ExceptionGroup, and its next await is still cancelled.
TEST(TaskGroupTest, AnInnerGroupsErrorsKeepTheOuterGroupsCancel) {
  EventLoop loop;
  std::vector<std::string> events;
  auto member = [&]() -> Coroutine<void> {
    TaskGroup inner;
    try {
      co_await inner.Run([&]() -> Coroutine<void> {
        inner.CreateTask(Fail(absl::ZeroDuration(), "inner"));
        co_await Sleep(absl::Hours(1));
      }());
    } catch (const ExceptionGroup& e) {
      events.push_back(absl::StrCat("inner group failed, cancelling ",
                                    CurrentTask()->Cancelling()));
    }
    try {
      co_await Sleep(absl::Hours(1));
      events.push_back("not cancelled");
    } catch (const CancelledError&) {
      events.push_back("next await cancelled");
      throw;
    }
  };
  auto main = [&]() -> Coroutine<void> {
    TaskGroup outer;
    try {
      co_await outer.Run([&]() -> Coroutine<void> {
        outer.CreateTask(member());
        outer.CreateTask(Fail(absl::ZeroDuration(), "outer"));
        co_return;
      }());
    } catch (const ExceptionGroup& e) {
      events.push_back("outer: " + Messages(e)[0]);
    }
  };
  loop.RunUntilComplete(main());
  EXPECT_THAT(events, ElementsAre("inner group failed, cancelling 1",
                                  "next await cancelled", "outer: outer"));
}

// CPython's test_taskgroups.py test_error_and_cancel (3.13): a group whose
// child fails while its parent is also cancelled from outside raises the
// ExceptionGroup, and the parent's next await is still cancelled.
TEST(TaskGroupTest, AnErrorAndAnOutsideCancelBothReachTheParent) {
  EventLoop loop;
  std::vector<std::string> events;
  Future<void> child_started = loop.CreateFuture<void>();
  auto inner = [&]() -> Coroutine<void> {
    TaskGroup group;
    try {
      co_await group.Run([&]() -> Coroutine<void> {
        group.CreateTask([&]() -> Coroutine<void> {
          child_started.SetResult();
          co_await Sleep(absl::ZeroDuration());
          throw std::runtime_error("child");
        }());
        co_await Sleep(absl::Hours(1));
        events.push_back("sleep in group not cancelled");
      }());
    } catch (const ExceptionGroup& e) {
      events.push_back(absl::StrCat("group failed, cancelling ",
                                    CurrentTask()->Cancelling()));
    }
    co_await Sleep(absl::Hours(1));
    events.push_back("sleep after group not cancelled");
  };
  auto outer = [&]() -> Coroutine<void> {
    Task<void> t = CreateTask(inner());
    co_await child_started;
    EXPECT_EQ(t.Cancelling(), 0);
    t.Cancel();
    EXPECT_EQ(t.Cancelling(), 1);
    try {
      co_await t;
    } catch (const CancelledError&) {
      events.push_back("cancelled");
    }
    EXPECT_TRUE(t.Cancelled());
  };
  loop.RunUntilComplete(outer());
  EXPECT_THAT(events, ElementsAre("group failed, cancelling 1", "cancelled"));
}

TEST(TaskGroupTest, NestedGroupsCarryTheInnerGroup) {
  EventLoop loop;
  std::vector<std::string> events;
  auto main = [&]() -> Coroutine<std::vector<std::string>> {
    TaskGroup outer;
    try {
      co_await outer.Run([&]() -> Coroutine<void> {
        outer.CreateTask(Sleeper(&events, "outer sleeper"));
        TaskGroup inner;
        co_await inner.Run([&]() -> Coroutine<void> {
          inner.CreateTask(Sleeper(&events, "inner sleeper"));
          inner.CreateTask(Fail(absl::Milliseconds(1), "deep"));
          co_return;
        }());
      }());
    } catch (const ExceptionGroup& e) {
      EXPECT_EQ(e.exceptions().size(), 1u);
      try {
        std::rethrow_exception(e.exceptions()[0]);
      } catch (const ExceptionGroup& nested) {
        events.push_back("nested: " + Messages(nested)[0]);
      }
      co_return Messages(e);
    }
    co_return std::vector<std::string>{};
  };
  EXPECT_THAT(
      loop.RunUntilComplete(main()),
      ElementsAre("group: unhandled errors in a TaskGroup (1 sub-exception)"));
  EXPECT_THAT(events, ElementsAre("inner sleeper cancelled",
                                  "outer sleeper cancelled", "nested: deep"));
}

TEST(TaskGroupTest, ASecondCancelDuringCleanupStillWaitsForEveryTask) {
  EventLoop loop;
  std::vector<std::string> events;
  Future<void> cleaning = loop.CreateFuture<void>();
  Future<void> cleanup_done = loop.CreateFuture<void>();
  auto slow_cleanup = [&]() -> Coroutine<int> {
    try {
      co_await Sleep(absl::Hours(1));
    } catch (const CancelledError&) {
      cleaning.SetResult();
    }
    co_await cleanup_done;
    events.push_back("slow cleanup cancelled");
    throw CancelledError();
  };
  auto main = [&]() -> Coroutine<void> {
    TaskGroup group;
    co_await group.Run([&]() -> Coroutine<void> {
      group.CreateTask(slow_cleanup());
      co_await Sleep(absl::Hours(1));
    }());
  };
  Task<void> task = loop.CreateTask(main());
  CancelAfterIterations(loop, task, 3, "first");
  // The second cancel comes while the group waits for the cleanup.
  cleaning.AddDoneCallback([&](Future<void>&) {
    task.Cancel("second");
    cleanup_done.SetResult();
  });
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
  EXPECT_EQ(task.Cancelling(), 2);
  EXPECT_THAT(events, ElementsAre("slow cleanup cancelled"));
}

// A task (not a lambda: its captures would be gone when it runs) that adds
// another task to its group after the body has ended.
Coroutine<int> SpawnLate(TaskGroup* group, Task<int>* late) {
  co_await Sleep(absl::Milliseconds(1));
  *late = group->CreateTask(After(absl::Milliseconds(1), 5));
  co_return 0;
}

TEST(TaskGroupTest, TasksMayBeCreatedWhileTheGroupWaits) {
  EventLoop loop;
  auto main = []() -> Coroutine<int> {
    TaskGroup group;
    Task<int> late;
    co_await group.Run([&]() -> Coroutine<void> {
      group.CreateTask(SpawnLate(&group, &late));
      co_return;
    }());
    co_return late.Result();
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), 5);
}

TEST(TaskGroupTest, ACancelledTaskIsNotAnError) {
  EventLoop loop;
  auto main = []() -> Coroutine<bool> {
    TaskGroup group;
    co_await group.Run([&]() -> Coroutine<void> {
      Task<int> t = group.CreateTask(After(absl::Hours(1), 1));
      t.Cancel();
      group.CreateTask(After(absl::Milliseconds(1), 2));
      co_return;
    }());
    co_return true;
  };
  EXPECT_TRUE(loop.RunUntilComplete(main()));
}

// The body of OwnGroup: two sleepers named "a" and "b", then `entered` is
// set. Whoever awaits `entered` wakes after the sleepers have gone to sleep:
// their first steps were scheduled first.
Coroutine<void> StartSleepers(TaskGroup* group,
                              std::vector<std::string>* events,
                              Future<void> entered) {
  group->CreateTask(Sleeper(events, "a"), {.name = "a"});
  group->CreateTask(Sleeper(events, "b"), {.name = "b"});
  entered.SetResult();
  co_return;
}

// A task that owns a group of two sleepers and waits for them.
Coroutine<void> OwnGroup(std::vector<std::string>* events,
                         Future<void> entered) {
  TaskGroup group;
  co_await group.Run(StartSleepers(&group, events, entered));
  events->push_back("after the group");
}

TEST(TaskGroupTest, RunCancelsAGroupLeftPendingWhenMainReturns) {
  std::vector<std::string> events;
  std::vector<std::string> reports;
  asyncio::Run([&]() -> Coroutine<void> {
    GetRunningLoop().SetExceptionHandler(
        [&](EventLoop&, const ExceptionContext& c) {
          reports.push_back(c.message);
        });
    Future<void> entered;
    CreateTask(OwnGroup(&events, entered), {.name = "owner"});
    co_await entered;
  }());
  EXPECT_THAT(events, UnorderedElementsAre("a cancelled", "b cancelled"));
  EXPECT_THAT(reports, IsEmpty());
}

TEST(TaskGroupTest, ClosingTheLoopDestroysTheTasksThenTheGroupsOwner) {
  EventLoop loop;
  std::vector<std::string> reports;
  loop.SetExceptionHandler([&](EventLoop&, const ExceptionContext& c) {
    reports.push_back(c.message + " | " + c.source);
  });
  std::vector<std::string> events;
  Future<void> entered = loop.CreateFuture<void>();
  loop.CreateTask(OwnGroup(&events, entered), {.name = "owner"});
  loop.RunUntilComplete(entered);
  loop.Close();
  const auto destroyed = [](const std::string& name) {
    return AllOf(HasSubstr("Task was destroyed but it is pending!"),
                 HasSubstr("Task '" + name + "'"));
  };
  EXPECT_THAT(reports,
              ElementsAre(destroyed("b"), destroyed("a"), destroyed("owner")));
  EXPECT_THAT(events, IsEmpty());  // No CancelledError, no "after".
}

TEST(TaskGroupDeathTest, DestroyingAGroupWhileItsRunIsPendingIsMisuse) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        std::vector<std::string> events;
        Future<void> entered = loop.CreateFuture<void>();
        auto group = std::make_unique<TaskGroup>();
        loop.CreateTask(
            group->Run(StartSleepers(group.get(), &events, entered)));
        loop.RunUntilComplete(entered);
        group.reset();
      },
      "RuntimeError: TaskGroup destroyed while its Run is pending");
}

TEST(TaskGroupDeathTest, CreateTaskInAFinishedGroupIsMisuse) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        auto main = []() -> Coroutine<void> {
          TaskGroup group;
          co_await group.Run([]() -> Coroutine<void> { co_return; }());
          group.CreateTask(After(absl::ZeroDuration(), 1));
        };
        loop.RunUntilComplete(main());
      },
      "RuntimeError.*finished");
}

TEST(TaskGroupDeathTest, CreateTaskBeforeRunIsMisuse) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        auto main = []() -> Coroutine<void> {
          TaskGroup group;
          group.CreateTask(After(absl::ZeroDuration(), 1));
          co_return;
        };
        loop.RunUntilComplete(main());
      },
      "RuntimeError.*not been entered");
}

// CPython's TaskGroup.create_task handles a task already done (an eager task
// that finished at once) on the spot: a failure aborts the group there.
TEST(TaskGroupTest, AnEagerTaskThatFailsAtOnceAbortsTheGroupAtOnce) {
  EventLoop loop;
  loop.SetTaskFactory(TaskFactory::kEager);
  std::vector<std::string> events;
  auto main = [&]() -> Coroutine<void> {
    TaskGroup group;
    try {
      co_await group.Run([&]() -> Coroutine<void> {
        group.CreateTask([]() -> Coroutine<int> {
          throw std::runtime_error("at once");
          co_return 0;
        }());
        events.push_back(absl::StrCat("after create, cancelling ",
                                      CurrentTask()->Cancelling()));
        try {
          co_await Sleep(absl::Hours(1));
        } catch (const CancelledError&) {
          events.push_back("body cancelled");
          throw;
        }
      }());
    } catch (const ExceptionGroup& e) {
      events.push_back("group: " + Messages(e)[0]);
    }
  };
  loop.RunUntilComplete(main());
  EXPECT_THAT(events, ElementsAre("after create, cancelling 1",
                                  "body cancelled", "group: at once"));
}

// --- TaskGroup::Cancel, Python 3.15's TaskGroup.cancel() (gh-108951): an
// early exit without an error ------------------------------------------------

TEST(TaskGroupCancelTest, FromTheBodyCancelsTheTasksAndRunReturns) {
  EventLoop loop;
  std::vector<std::string> events;
  auto main = [&]() -> Coroutine<int> {
    TaskGroup group;
    co_await group.Run([&]() -> Coroutine<void> {
      group.CreateTask(Sleeper(&events, "a"));
      co_await Sleep(absl::ZeroDuration());  // "a" is asleep.
      group.Cancel();
      group.Cancel();  // Idempotent.
      try {
        co_await Sleep(absl::Hours(1));
      } catch (const CancelledError&) {
        events.push_back("body cancelled");
        throw;
      }
    }());
    events.push_back("after the group");
    co_return CurrentTask()->Cancelling();
  };
  EXPECT_EQ(loop.RunUntilComplete(main()), 0);
  EXPECT_THAT(events,
              ElementsAre("a cancelled", "body cancelled", "after the group"));
}

TEST(TaskGroupCancelTest, FromAChildEndsTheGroup) {
  EventLoop loop;
  std::vector<std::string> events;
  auto main = [&]() -> Coroutine<void> {
    TaskGroup group;
    co_await group.Run([&]() -> Coroutine<void> {
      group.CreateTask(Sleeper(&events, "a"));
      group.CreateTask([](TaskGroup* g) -> Coroutine<int> {
        co_await Sleep(absl::ZeroDuration());
        g->Cancel();  // The goal is met.
        co_return 1;
      }(&group));
      co_return;  // The group waits for its tasks.
    }());
    events.push_back("after the group");
  };
  loop.RunUntilComplete(main());
  EXPECT_THAT(events, ElementsAre("a cancelled", "after the group"));
}

TEST(TaskGroupCancelTest, BeforeRunCancelsOnEntryAndAfterRunDoesNothing) {
  EventLoop loop;
  std::vector<std::string> events;
  auto main = [&]() -> Coroutine<void> {
    TaskGroup group;
    group.Cancel();
    co_await group.Run([&]() -> Coroutine<void> {
      try {
        co_await Sleep(absl::Hours(1));
      } catch (const CancelledError&) {
        events.push_back("body cancelled on entry");
        throw;
      }
    }());
    group.Cancel();
    co_await Sleep(absl::ZeroDuration());
    events.push_back(absl::StrCat("after the group, cancelling ",
                                  CurrentTask()->Cancelling()));
  };
  loop.RunUntilComplete(main());
  EXPECT_THAT(events, ElementsAre("body cancelled on entry",
                                  "after the group, cancelling 0"));
}

TEST(TaskGroupCancelTest, ErrorsStillComeOut) {
  EventLoop loop;
  auto main = [&]() -> Coroutine<std::vector<std::string>> {
    TaskGroup group;
    try {
      co_await group.Run([&]() -> Coroutine<void> {
        group.CreateTask([]() -> Coroutine<int> {
          try {
            co_await Sleep(absl::Hours(1));
          } catch (const CancelledError&) {
          }
          throw std::runtime_error("raised while cancelling");
        }());
        co_await Sleep(absl::ZeroDuration());
        group.Cancel();
        co_return;
      }());
    } catch (const ExceptionGroup& e) {
      co_return Messages(e);
    }
    co_return std::vector<std::string>{};
  };
  EXPECT_THAT(loop.RunUntilComplete(main()),
              ElementsAre("raised while cancelling"));
}

TEST(TaskGroupCancelTest, AnOutsideCancelStillPropagates) {
  EventLoop loop;
  auto main = [&]() -> Coroutine<void> {
    TaskGroup group;
    co_await group.Run([&]() -> Coroutine<void> {
      group.Cancel();
      CurrentTask()->Cancel("from elsewhere");
      co_await Sleep(absl::Hours(1));
    }());
  };
  Task<void> task = loop.CreateTask(main());
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
}
}  // namespace
}  // namespace pyconc::asyncio
