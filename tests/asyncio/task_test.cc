// Task<T>, ported from CPython's test_tasks.py: scheduling, names, results,
// callbacks, exception reporting, current/all tasks, 100,000 tasks.
#include "asyncio/task.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "asyncio/debug.h"
#include "asyncio/errors.h"
#include "asyncio/loop.h"
#include "asyncio/run.h"
#include "asyncio/sleep.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyconc::asyncio {
namespace {

using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Coroutine<int> Value(int v) { co_return v; }
// What a dump says of a Sleep(1h) just begun: the time it has left, rounded
// up to the millisecond.
constexpr char kSleepHourLeft[] = "Sleep\\((1h|59m59\\.[0-9]+s) left\\)";
constexpr int kSleepThenSleepLine = __LINE__ + 2;
Coroutine<int> SleepThen(absl::Duration d, int v) {
  co_await Sleep(d);
  co_return v;
}

TEST(TaskTest, CreateTaskStartsInTheNextIteration) {
  std::vector<std::string> order;
  asyncio::Run([&]() -> Coroutine<void> {
    auto child = [&]() -> Coroutine<void> {
      order.push_back("child");
      co_return;
    };
    Task<void> task = CreateTask(child());
    order.push_back("after create");
    co_await task;
    order.push_back("after await");
  }());
  EXPECT_THAT(order, ElementsAre("after create", "child", "after await"));
}

TEST(TaskTest, TasksRunConcurrently) {
  EventLoop loop;
  const absl::Time start = loop.Time();
  const int sum = loop.RunUntilComplete([]() -> Coroutine<int> {
    std::vector<Task<int>> tasks;
    for (int i = 1; i <= 10; ++i) {
      tasks.push_back(CreateTask(SleepThen(absl::Milliseconds(30), i)));
    }
    int total = 0;
    for (Task<int>& t : tasks) total += co_await t;
    co_return total;
  }());
  EXPECT_EQ(sum, 55);
  EXPECT_GE(loop.Time() - start, absl::Milliseconds(30));
}

TEST(TaskTest, NamesDefaultToTaskN) {
  EventLoop loop;
  Task<int> a = loop.CreateTask(Value(1));
  Task<int> b = loop.CreateTask(Value(2), {.name = "bee"});
  EXPECT_EQ(a.name(), "Task-1");
  EXPECT_EQ(b.name(), "bee");
  b.set_name("renamed");
  EXPECT_EQ(b.name(), "renamed");
  EXPECT_EQ(loop.RunUntilComplete(a), 1);
  EXPECT_EQ(loop.RunUntilComplete(b), 2);
  // A task keeps its number once it has other state to keep (a cancel
  // message, a cancel count): Task-3 stays Task-3.
  Task<int> c = loop.CreateTask(Value(3));
  const uint64_t id = c.base()->id();
  EXPECT_TRUE(c.Cancel("stop"));
  EXPECT_EQ(c.Cancelling(), 1);
  EXPECT_EQ(c.name(), "Task-3");
  EXPECT_EQ(c.base()->id(), id);
  EXPECT_EQ(c.Uncancel(), 0);
  EXPECT_EQ(c.name(), "Task-3");
  EXPECT_EQ(loop.RunUntilComplete(c), 3);
}

TEST(TaskTest, ResultAndException) {
  EventLoop loop;
  Task<int> ok = loop.CreateTask(Value(3));
  Task<void> bad = loop.CreateTask([]() -> Coroutine<void> {
    throw std::runtime_error("bad");
    co_return;
  }());
  loop.RunUntilComplete(ok);
  loop.RunUntilDone(bad.base());
  EXPECT_TRUE(ok.Done());
  EXPECT_EQ(ok.Result(), 3);
  EXPECT_EQ(ok.Exception(), nullptr);
  EXPECT_TRUE(bad.Done());
  EXPECT_FALSE(bad.Cancelled());
  EXPECT_NE(bad.Exception(), nullptr);
  EXPECT_THROW(bad.Result(), std::runtime_error);
}

TEST(TaskTest, TheLoopKeepsATaskWithoutAHandleAlive) {
  int finished = 0;
  asyncio::Run([&]() -> Coroutine<void> {
    Future<void> all_finished;
    auto work = [&]() -> Coroutine<void> {
      co_await Sleep(absl::Milliseconds(1));
      if (++finished == 10) all_finished.SetResult();
    };
    for (int i = 0; i < 10; ++i) CreateTask(work());  // Handles dropped.
    co_await all_finished;
  }());
  EXPECT_EQ(finished, 10);
}

TEST(TaskTest, DoneCallbacksAreScheduledInOrder) {
  EventLoop loop;
  std::vector<int> order;
  Task<int> task = loop.CreateTask(Value(5));
  task.AddDoneCallback([&](Task<int>& t) { order.push_back(t.Result()); });
  task.AddDoneCallback([&](Task<int>&) { order.push_back(6); });
  loop.RunUntilComplete(task);  // Stops after the callbacks, added first.
  EXPECT_THAT(order, ElementsAre(5, 6));
}

TEST(TaskTest, SleepZeroYieldsOnce) {
  std::vector<std::string> order;
  asyncio::Run([&]() -> Coroutine<void> {
    auto worker = [&](std::string name) -> Coroutine<void> {
      for (int i = 0; i < 3; ++i) {
        order.push_back(name + std::to_string(i));
        co_await Sleep(absl::ZeroDuration());
      }
    };
    Task<void> a = CreateTask(worker("a"));
    Task<void> b = CreateTask(worker("b"));
    co_await a;
    co_await b;
  }());
  EXPECT_THAT(order, ElementsAre("a0", "b0", "a1", "b1", "a2", "b2"));
}

TEST(TaskTest, CurrentTaskAndAllTasks) {
  asyncio::Run([]() -> Coroutine<void> {
    std::optional<AnyTask> me = CurrentTask();
    EXPECT_TRUE(me.has_value());
    Task<int> other =
        CreateTask(SleepThen(absl::Milliseconds(5), 1), {.name = "other"});
    std::vector<AnyTask> all = AllTasks();
    EXPECT_EQ(all.size(), 2u);
    EXPECT_TRUE(std::find(all.begin(), all.end(), *me) != all.end());
    co_await other;
    EXPECT_EQ(AllTasks().size(), 1u);
  }());
  EXPECT_FALSE(CurrentTask().has_value());
}

TEST(TaskTest, NeverRetrievedExceptionIsReported) {
  EventLoop loop;
  std::vector<std::string> messages;
  loop.SetExceptionHandler([&](EventLoop&, const ExceptionContext& c) {
    messages.push_back(c.message + " | " + c.source);
  });
  loop.CreateTask([]() -> Coroutine<void> {
    throw std::runtime_error("nobody looks");
    co_return;
  }());
  loop.RunOnce();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_THAT(messages[0], HasSubstr("Task exception was never retrieved"));
  EXPECT_THAT(messages[0], HasSubstr("nobody looks"));
}

// Runs one iteration of `loop`, closes it, and gives what it reported, each
// as "message | source".
std::vector<std::string> ReportsOfOneStepThenClose(EventLoop& loop) {
  std::vector<std::string> messages;
  loop.SetExceptionHandler([&](EventLoop&, const ExceptionContext& c) {
    messages.push_back(c.message + " | " + c.source);
  });
  loop.RunOnce();
  loop.Close();
  return messages;
}

// A result of at most a word that copies as bytes is kept, once the task is
// done, where a failed task keeps its exception: such a task's state is no
// larger than a void task's. Every way of reading the value gets it, as often
// as asked, for as long as a handle lives.
struct Pair16 {
  int32_t a;
  int16_t b;
};
template <typename T>
Coroutine<T> YieldThen(T value) {
  co_await Sleep(absl::ZeroDuration());
  co_return value;
}
TEST(TaskTest, AResultOfAWordIsKeptInTheTaskItself) {
  static_assert(
      internal::kResultInWord<int> && internal::kResultInWord<double> &&
      internal::kResultInWord<const char*> && internal::kResultInWord<Pair16>);
  static_assert(!internal::kResultInWord<std::string> &&
                !internal::kResultInWord<std::unique_ptr<int>>);
  static_assert(internal::kTaskRoom<int> == internal::kTaskRoom<void> &&
                internal::kTaskRoom<Pair16> == internal::kTaskRoom<void>);
  static const char kText[] = "text";
  EventLoop loop;
  Task<double> d = loop.CreateTask(YieldThen(2.5));
  Task<const char*> p = loop.CreateTask(YieldThen<const char*>(kText));
  Task<Pair16> pair = loop.CreateTask(YieldThen(Pair16{-7, 300}));
  Task<int> i = loop.CreateTask(YieldThen(41));
  Task<int> awaiter = loop.CreateTask(
      [](Task<int> t) -> Coroutine<int> { co_return co_await t + 1; }(i));
  EXPECT_EQ(loop.RunUntilComplete(awaiter), 42);
  loop.RunUntilDone(pair.base());
  EXPECT_EQ(d.Result(), 2.5);
  EXPECT_EQ(p.Result(), kText);
  EXPECT_EQ(pair.Result().a, -7);
  EXPECT_EQ(pair.Result().b, 300);
  EXPECT_EQ(i.Result(), 41);
  EXPECT_EQ(i.Result(), 41);
  EXPECT_EQ(i.Exception(), nullptr);
  EXPECT_THAT(i.Describe(), HasSubstr("<finished>"));
  Task<int> failed = loop.CreateTask([]() -> Coroutine<int> {
    co_await Sleep(absl::ZeroDuration());
    throw std::runtime_error("no value");
  }());
  loop.RunUntilDone(failed.base());
  EXPECT_THROW(failed.Result(), std::runtime_error);
}

// A result type aligned beyond 16 bytes: the coroutine's frame and the
// task's state are allocated at that alignment, the state apart from the
// frame, and the call graph cannot find that coroutine's promise from its
// frame, so a Sleep in it is described by its line alone. (Only the result
// is over-aligned here: g++ 12 cannot align a frame for an over-aligned
// local, see kFrameAlign in coroutine.h.)
struct alignas(64) Wide {
  int value = 0;
};
constexpr int kWideSleepLine = __LINE__ + 2;
Coroutine<Wide> SleepThenWide(absl::Duration d, int v) {
  co_await Sleep(d);
  co_return Wide{v};
}

TEST(TaskTest, AnOverAlignedResultTypeRunsAsAnyOther) {
  static_assert(internal::kTaskRoom<Wide> == 0);
  EventLoop loop;
  Task<Wide> done = loop.CreateTask(SleepThenWide(absl::ZeroDuration(), 7));
  EXPECT_EQ(loop.RunUntilComplete(done).value, 7);
  EXPECT_EQ(done.Result().value, 7);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(&done.Result()) % alignof(Wide), 0u);

  Task<Wide> pending = loop.CreateTask(SleepThenWide(absl::Hours(1), 1));
  const std::vector<std::string> messages = ReportsOfOneStepThenClose(loop);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_THAT(messages[0], ContainsRegex(absl::StrCat(
                               kSleepHourLeft, " at line ", kWideSleepLine)));
}

TEST(TaskTest, PendingTaskDestroyedAtCloseIsReported) {
  EventLoop loop;
  Task<int> task = loop.CreateTask(SleepThen(absl::Hours(1), 1));
  const std::vector<std::string> messages = ReportsOfOneStepThenClose(loop);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_THAT(messages[0], HasSubstr("Task was destroyed but it is pending!"));
  // The time the Sleep has left, its own line, and the file and function of
  // the coroutine that awaits it.
  EXPECT_THAT(messages[0], ContainsRegex(absl::StrCat(
                               kSleepHourLeft, " at task_test\\.cc:",
                               kSleepThenSleepLine, " in SleepThen")));
  EXPECT_FALSE(task.Done());
}

TEST(TaskTest, DumpTasksSaysWhereEachTaskIsSuspended) {
  EventLoop loop;
  Task<int> sleeper =
      loop.CreateTask(SleepThen(absl::Seconds(5), 1), {.name = "sleeper"});
  Future<int> future = loop.CreateFuture<int>();
  Task<int> waiter = loop.CreateTask(
      [](Future<int> f) -> Coroutine<int> { co_return co_await f; }(future),
      {.name = "waiter"});
  loop.RunOnce();
  const std::string dump = DumpTasks(loop);
  EXPECT_THAT(dump, HasSubstr("2 pending tasks"));
  EXPECT_THAT(dump, HasSubstr("Task 'sleeper' coroutine SleepThen"));
  EXPECT_THAT(dump,
              ContainsRegex("suspended on Sleep\\((5|4\\.[0-9]+)s left\\) "
                            "at task_test\\.cc:"));
  EXPECT_THAT(dump, HasSubstr("Task 'waiter'"));
  EXPECT_THAT(dump, HasSubstr("suspended on Future <pending>"));
  sleeper.Cancel();
  future.SetResult(2);
  EXPECT_EQ(loop.RunUntilComplete(waiter), 2);
  loop.RunUntilDone(sleeper.base());
}

// Once its Sleep ends (or is cancelled) a task waits on nothing: until its
// next step a dump says it is scheduled to resume, as Python's task is once
// its _fut_waiter is done.
TEST(TaskTest, DumpTasksSaysATaskWokenFromASleepIsScheduledToResume) {
  EventLoop loop;
  Task<int> yielder =
      loop.CreateTask(SleepThen(absl::ZeroDuration(), 1), {.name = "yielder"});
  Task<int> sleeper =
      loop.CreateTask(SleepThen(absl::Hours(1), 2), {.name = "sleeper"});
  loop.RunOnce();  // Both step: one yields (queued at once), one sleeps.
  EXPECT_THAT(DumpTasks(loop),
              ContainsRegex("'sleeper'[^\n]*suspended on Sleep\\("));
  EXPECT_TRUE(sleeper.Cancel());
  const std::string dump = DumpTasks(loop);
  EXPECT_THAT(dump, ContainsRegex("'yielder'[^\n]*scheduled to resume"));
  EXPECT_THAT(dump, ContainsRegex("'sleeper'[^\n]*scheduled to resume"));
  EXPECT_EQ(loop.RunUntilComplete(yielder), 1);
  loop.RunUntilDone(sleeper.base());
  EXPECT_TRUE(sleeper.Cancelled());
}

TEST(TaskTest, DebugModeReportsSlowSteps) {
  EventLoop loop;
  loop.SetDebug(true);
  loop.set_slow_callback_duration(absl::Milliseconds(10));
  testing::internal::CaptureStderr();
  loop.RunUntilComplete([]() -> Coroutine<void> {
    const absl::Time until = absl::Now() + absl::Milliseconds(20);
    while (absl::Now() < until) {
    }  // Holds the loop, as a blocking call would.
    co_return;
  }());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("Executing step of Task 'Task-1'"));
  EXPECT_THAT(err, HasSubstr("seconds"));
}

TEST(TaskTest, AHundredThousandConcurrentTasks) {
  constexpr int kTasks = 100'000;
  const long sum = asyncio::Run([]() -> Coroutine<long> {
    std::vector<Task<int>> tasks;
    tasks.reserve(kTasks);
    for (int i = 0; i < kTasks; ++i) {
      tasks.push_back(CreateTask(SleepThen(absl::Milliseconds(i % 10), i)));
    }
    long total = 0;
    for (Task<int>& t : tasks) total += co_await t;
    co_return total;
  }());
  EXPECT_EQ(sum, long{kTasks} * (kTasks - 1) / 2);
}

TEST(TaskTest, RunCancelsLeftoverTasks) {
  bool cleaned_up = false;
  // A named lambda: a coroutine lambda's captures live in the lambda object,
  // which must outlive the task.
  auto leftover = [&]() -> Coroutine<void> {
    try {
      co_await Sleep(absl::Hours(1));
    } catch (const CancelledError&) {
      cleaned_up = true;
      throw;
    }
  };
  asyncio::Run([&]() -> Coroutine<void> {
    CreateTask(leftover());
    co_await Sleep(absl::ZeroDuration());
  }());
  EXPECT_TRUE(cleaned_up);
}

// --- A task's memory: its state is built in front of its coroutine's frame,
// in one block (coroutine.h's kTaskRoom). These endings each free that block
// once, after the frame's locals are gone and the last handle has let go
// (the asan and tsan runs check that nothing leaks or is used after free).

// Counts its destructions: a local of the coroutine lives in the frame.
struct Tracked {
  explicit Tracked(int* destroyed) : destroyed(destroyed) {}
  ~Tracked() { ++*destroyed; }
  int* destroyed;
};

// A value long enough to live on the heap, so a stale copy would be caught.
const std::string kLongValue(100, 'v');

Coroutine<std::string> LongValueAfter(absl::Duration d, int* destroyed) {
  Tracked local(destroyed);
  co_await Sleep(d);
  co_return kLongValue;
}

TEST(TaskMemoryTest, TheResultOutlivesTheFrameUntilTheLastHandleGoes) {
  EventLoop loop;
  int destroyed = 0;
  Task<std::string> task =
      loop.CreateTask(LongValueAfter(absl::ZeroDuration(), &destroyed));
  Task<std::string> copy = task;
  loop.RunUntilDone(task.base());
  EXPECT_EQ(destroyed, 1);  // The frame went when the task finished.
  task = Task<std::string>();
  EXPECT_EQ(copy.Result(), kLongValue);
  EXPECT_EQ(copy.name(), "Task-1");
}

TEST(TaskMemoryTest, EveryEndingFreesTheTaskOnce) {
  EventLoop loop;
  int destroyed = 0;
  std::vector<std::string> messages;
  loop.SetExceptionHandler([&](EventLoop&, const ExceptionContext& c) {
    messages.push_back(c.message);
  });
  // Finished with no handle left: the loop's reference was the last.
  loop.CreateTask(LongValueAfter(absl::ZeroDuration(), &destroyed));
  // Cancelled before its first step: the body never runs.
  Task<std::string> cancelled_early =
      loop.CreateTask(LongValueAfter(absl::ZeroDuration(), &destroyed));
  cancelled_early.Cancel("early");
  // Failed, its exception never retrieved: reported when the handle goes.
  Task<void> failed = loop.CreateTask([]() -> Coroutine<void> {
    throw std::runtime_error("unseen");
    co_return;
  }());
  // Still asleep when the loop closes: abandoned with its frame.
  Task<std::string> pending =
      loop.CreateTask(LongValueAfter(absl::Hours(1), &destroyed));
  // Until the first one's frame is gone (the others are done by then).
  loop.RunUntilComplete([&]() -> Coroutine<void> {
    while (destroyed == 0) co_await Sleep(absl::ZeroDuration());
  }());
  EXPECT_TRUE(failed.Done());
  EXPECT_TRUE(cancelled_early.Cancelled());
  failed = Task<void>();
  loop.Close();
  EXPECT_THAT(messages, ElementsAre("Task exception was never retrieved",
                                    "Task was destroyed but it is pending!"));
  EXPECT_FALSE(pending.Done());
  // The frames of the first, the cancelled (its locals never built: the
  // body never ran, yet its frame is destroyed) and the pending task.
  EXPECT_EQ(destroyed, 2);
}

TEST(TaskMemoryTest, AnEagerTaskDoneInCreateTaskKeepsItsValue) {
  asyncio::Run([]() -> Coroutine<void> {
    auto body = []() -> Coroutine<std::string> { co_return kLongValue; };
    Task<std::string> task = CreateTask(body(), {.eager_start = true});
    EXPECT_TRUE(task.Done());
    EXPECT_EQ(task.Result(), kLongValue);
    co_return;
  }());
}

TEST(TaskMemoryTest, AnAwaitedCoroutineWithRoomForATaskIsFreedAlone) {
  // The same coroutine type awaited, never a task: its block (frame and
  // unused room) is freed with the frame.
  int destroyed = 0;
  EXPECT_EQ(asyncio::Run([&]() -> Coroutine<std::string> {
              co_return co_await LongValueAfter(absl::ZeroDuration(),
                                                &destroyed);
            }()),
            kLongValue);
  EXPECT_EQ(destroyed, 1);
}

TEST(TaskTest, NameAndCancelMessageLiveTogetherOutOfLine) {
  asyncio::Run([]() -> Coroutine<void> {
    Task<int> task = CreateTask(SleepThen(absl::Hours(1), 1));
    EXPECT_EQ(task.name(), "Task-2");
    co_await Sleep(absl::ZeroDuration());  // Now asleep.
    EXPECT_TRUE(task.Cancel("stop now"));
    task.set_name("renamed after cancel");
    EXPECT_EQ(task.name(), "renamed after cancel");
    task.set_name("");  // Python allows an empty name; it is not "Task-N".
    EXPECT_EQ(task.name(), "");
    EXPECT_EQ(task.Cancelling(), 1);
    try {
      co_await task;
      ADD_FAILURE() << "not cancelled";
    } catch (const CancelledError& e) {
      EXPECT_EQ(e.message(), "stop now");
    }
    EXPECT_TRUE(task.Cancelled());
  }());
}

TEST(TaskDeathTest, TaskAwaitingItselfIsRuntimeError) {
  EXPECT_DEATH(
      asyncio::Run([]() -> Coroutine<void> { co_await *CurrentTask(); }()),
      "RuntimeError: Task cannot await on itself");
}

TEST(TaskDeathTest, RunInsideALoopIsRuntimeError) {
  EXPECT_DEATH(asyncio::Run([]() -> Coroutine<void> {
                 asyncio::Run(Value(1));
                 co_return;
               }()),
               "RuntimeError");
}

// --- Eager tasks (Python 3.12's eager_start / eager_task_factory), after
// CPython's test_eager_task_factory.py ----------------------------------------

TEST(EagerTaskTest, RunsInsideCreateTaskUntilItsFirstSuspension) {
  std::vector<std::string> order;
  asyncio::Run([&]() -> Coroutine<void> {
    auto child = [&]() -> Coroutine<int> {
      order.push_back("child starts as " + CurrentTask()->name());
      co_await Sleep(absl::ZeroDuration());
      order.push_back("child resumed");
      co_return 3;
    };
    order.push_back("before create");
    Task<int> task = CreateTask(child(), {.name = "b", .eager_start = true});
    order.push_back(std::string("after create, current ") +
                    CurrentTask()->name() + (task.Done() ? ", done" : ""));
    EXPECT_EQ(co_await task, 3);
  }());
  EXPECT_THAT(order,
              ElementsAre("before create", "child starts as b",
                          "after create, current Task-1", "child resumed"));
}

TEST(EagerTaskTest, ATaskThatNeverSuspendsIsDoneAtOnce) {
  asyncio::Run([&]() -> Coroutine<void> {
    Task<int> task = CreateTask(Value(5), {.eager_start = true});
    EXPECT_TRUE(task.Done());
    EXPECT_EQ(task.Result(), 5);
    auto failing = []() -> Coroutine<int> {
      throw std::runtime_error("at once");
      co_return 0;
    };
    Task<int> bad = CreateTask(failing(), {.eager_start = true});
    EXPECT_TRUE(bad.Done());
    EXPECT_THROW(bad.Result(), std::runtime_error);
    co_return;
  }());
}

TEST(EagerTaskTest, TheLoopsEagerFactoryMakesEveryTaskEager) {
  EventLoop loop;
  EXPECT_EQ(loop.GetTaskFactory(), TaskFactory::kDefault);
  loop.SetTaskFactory(TaskFactory::kEager);
  std::vector<std::string> order;
  auto main = [&]() -> Coroutine<void> {
    Task<int> a = CreateTask(Value(1));
    order.push_back(a.Done() ? "a done at once" : "a pending");
    Task<int> b = CreateTask(SleepThen(absl::ZeroDuration(), 2));
    order.push_back(b.Done() ? "b done at once" : "b pending");
    EXPECT_EQ(co_await b, 2);
  };
  loop.RunUntilComplete(main());
  EXPECT_THAT(order, ElementsAre("a done at once", "b pending"));
}

TEST(EagerTaskTest, CreatedOffTheRunningLoopItStartsAsAnyOther) {
  EventLoop loop;
  bool ran = false;
  auto body = [&]() -> Coroutine<void> {
    ran = true;
    co_return;
  };
  Task<void> task = loop.CreateTask(body(), {.eager_start = true});
  EXPECT_FALSE(ran);
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(ran);
}

TEST(EagerTaskTest, CancelledAtItsFirstSuspensionItEndsCancelled) {
  asyncio::Run([&]() -> Coroutine<void> {
    Task<int> task =
        CreateTask(SleepThen(absl::Hours(1), 1), {.eager_start = true});
    EXPECT_FALSE(task.Done());
    task.Cancel();
    try {
      co_await task;
    } catch (const CancelledError&) {
    }
    EXPECT_TRUE(task.Cancelled());
  }());
}
}  // namespace
}  // namespace pyconc::asyncio
