// Tests of the call graph (Python 3.14's asyncio.graph) and the task dump
// (`python -m asyncio pstree`). The CallStack tests port CPython 3.14's
// Lib/test/test_asyncio/test_graph.py (CallStackTestBase), with gates the
// test sets instead of sleep(0) rounds; C++ has no frames of plain functions,
// so their entries are left out of the expected stacks.

#include "asyncio/graph.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "asyncio/future.h"
#include "asyncio/gather.h"
#include "asyncio/loop.h"
#include "asyncio/run.h"
#include "asyncio/shield.h"
#include "asyncio/sleep.h"
#include "asyncio/task.h"
#include "asyncio/task_group.h"
#include "asyncio/wait.h"
#include "base/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyconc::asyncio {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// A graph reduced as test_graph.py's capture_test_stack().walk does: the
// task's name ("T<name>", "T<anon>" for Task-N, "F" for a future), the call
// stack's functions, and the awaiters, sorted.
struct Walked {
  std::string name;
  std::vector<std::string> stack;
  std::vector<Walked> awaited_by;
  bool operator==(const Walked&) const = default;
  friend std::ostream& operator<<(std::ostream& out, const Walked& w) {
    out << w.name << " [";
    for (const std::string& s : w.stack) out << s << " ";
    out << "] {";
    for (const Walked& a : w.awaited_by) out << a << ", ";
    return out << "}";
  }
};

Walked Walk(const FutureCallGraph& graph) {
  Walked w;
  if (!graph.is_task) {
    w.name = "F";
  } else if (graph.name.find("Task-") == 0) {
    w.name = "T<anon>";
  } else {
    w.name = "T<" + graph.name + ">";
  }
  for (const FrameCallGraphEntry& e : graph.call_stack) {
    w.stack.push_back(e.function);
  }
  for (const FutureCallGraph& a : graph.awaited_by) {
    w.awaited_by.push_back(Walk(a));
  }
  std::sort(w.awaited_by.begin(), w.awaited_by.end(),
            [](const Walked& a, const Walked& b) { return a.name < b.name; });
  return w;
}

Walked W(std::string name, std::vector<std::string> stack,
         std::vector<Walked> awaited_by = {}) {
  return Walked{std::move(name), std::move(stack), std::move(awaited_by)};
}

// --- test_stack_wait: Wait's tasks are awaited by the waiting task.

Coroutine<FutureCallGraph> WaitInner() {
  co_await Sleep(absl::ZeroDuration());
  co_return co_await CurrentCallGraph();
}
Coroutine<FutureCallGraph> WaitC1() { co_return co_await WaitInner(); }
Coroutine<FutureCallGraph> WaitC2() {
  for (int i = 0; i < 3; ++i) co_await Sleep(absl::ZeroDuration());
  co_return FutureCallGraph{};
}
Coroutine<void> WaitMain(Task<FutureCallGraph> t1, Task<FutureCallGraph> t2) {
  std::vector<Task<FutureCallGraph>> tasks = {t1, t2};
  co_await asyncio::Wait(tasks);
}
Coroutine<FutureCallGraph> WaitTest() {
  Task<FutureCallGraph> t1 = CreateTask(WaitC1());
  Task<FutureCallGraph> t2 = CreateTask(WaitC2());
  co_await WaitMain(t1, t2);
  co_return t1.Result();
}

TEST(CallGraphTest, StackWait) {
  const Walked walked = Walk(asyncio::Run(WaitTest()));
  EXPECT_EQ(walked.name, "T<anon>");
  EXPECT_THAT(walked.stack, ElementsAre("WaitInner", "WaitC1"));
  ASSERT_EQ(walked.awaited_by.size(), 1u);
  EXPECT_EQ(walked.awaited_by[0].name, "T<anon>");
  EXPECT_THAT(walked.awaited_by[0].stack,
              ::testing::IsSupersetOf({"WaitMain", "WaitTest"}));
}

// --- the frame layout the call graph relies on (coroutine.h's PromiseAt).

struct alignas(16) Aligned16 {
  int x = 0;
};
Coroutine<int> ReturnsInt() { co_return 1; }
Coroutine<std::string> ReturnsString() { co_return "x"; }
Coroutine<Aligned16> ReturnsAligned16() { co_return Aligned16{}; }
Coroutine<void> ReturnsVoid() { co_return; }

template <typename T>
void ExpectPromiseAtFixedOffset(Coroutine<T> coro) {
  static_assert(
      internal::kPromiseAtFixedOffset<typename Coroutine<T>::promise_type>);
  typename Coroutine<T>::Handle handle = coro.Release();
  const internal::PromiseBase* promise = &handle.promise();
  EXPECT_EQ(internal::PromiseAt(handle.address()), promise);
  handle.destroy();
}

TEST(CallGraphTest, PromiseIsFoundFromTheFrameAddress) {
  ExpectPromiseAtFixedOffset(ReturnsInt());
  ExpectPromiseAtFixedOffset(ReturnsString());
  ExpectPromiseAtFixedOffset(ReturnsAligned16());
  ExpectPromiseAtFixedOffset(ReturnsVoid());
}

// --- test_stack_task: a task awaiting a task awaiting plain coroutines.

Coroutine<FutureCallGraph> TaskInner() {
  co_await Sleep(absl::ZeroDuration());
  co_return co_await CurrentCallGraph();
}
Coroutine<FutureCallGraph> TaskC1() { co_return co_await TaskInner(); }
Coroutine<FutureCallGraph> TaskC2() {
  co_return co_await CreateTask(TaskC1(), {.name = "there there"});
}
Coroutine<FutureCallGraph> TaskMain() { co_return co_await TaskC2(); }

TEST(CallGraphTest, StackTask) {
  const FutureCallGraph graph = asyncio::Run(TaskMain());
  EXPECT_EQ(Walk(graph), W("T<there there>", {"TaskInner", "TaskC1"},
                           {W("T<anon>", {"TaskC2", "TaskMain"})}));
  EXPECT_TRUE(graph.is_task);
  EXPECT_NE(graph.id, 0u);
  EXPECT_THAT(graph.call_stack[0].file, HasSubstr("graph_test.cc"));
  EXPECT_GT(graph.call_stack[0].line, 0);
}

// --- test_stack_gather: Gather's children are awaited by the gathering task.

Coroutine<FutureCallGraph> GatherDeep() {
  co_await Sleep(absl::ZeroDuration());
  co_return co_await CurrentCallGraph();
}
Coroutine<FutureCallGraph> GatherC1() {
  co_await Sleep(absl::ZeroDuration());
  co_return co_await GatherDeep();
}
Coroutine<int> GatherC2() {
  co_await Sleep(absl::ZeroDuration());
  co_return 2;
}
Coroutine<FutureCallGraph> GatherMain() {
  auto [graph, two] = co_await Gather(GatherC1(), GatherC2());
  EXPECT_EQ(two, 2);
  co_return graph;
}

TEST(CallGraphTest, StackGather) {
  const Walked walked = Walk(asyncio::Run(GatherMain()));
  EXPECT_EQ(walked.name, "T<anon>");
  EXPECT_THAT(walked.stack, ElementsAre("GatherDeep", "GatherC1"));
  ASSERT_EQ(walked.awaited_by.size(), 1u);
  // The gathering task: Gather's own coroutine, then main.
  EXPECT_EQ(walked.awaited_by[0].name, "T<anon>");
  EXPECT_EQ(walked.awaited_by[0].stack.back(), "GatherMain");
  EXPECT_THAT(walked.awaited_by[0].awaited_by, IsEmpty());
}

// --- test_stack_shield: the inner task is awaited by the shielding task.

Coroutine<FutureCallGraph> ShieldDeep() {
  co_await Sleep(absl::ZeroDuration());
  co_return co_await CurrentCallGraph();
}
Coroutine<FutureCallGraph> ShieldC1() {
  co_await Sleep(absl::ZeroDuration());
  co_return co_await ShieldDeep();
}
Coroutine<FutureCallGraph> ShieldMain() {
  co_return co_await Shield(ShieldC1());
}

TEST(CallGraphTest, StackShield) {
  EXPECT_EQ(
      Walk(asyncio::Run(ShieldMain())),
      W("T<anon>", {"ShieldDeep", "ShieldC1"}, {W("T<anon>", {"ShieldMain"})}));
}

// --- test_stack_tgroup: a TaskGroup's tasks are awaited by the task running
// the group, and by the tasks awaiting them.

Coroutine<FutureCallGraph> GroupC4(Future<void> gate) {
  co_await gate;
  co_return co_await CurrentCallGraph();
}
Coroutine<FutureCallGraph> GroupC3(Future<void> gate) {
  co_return co_await GroupC4(gate);
}
Coroutine<FutureCallGraph> GroupC2(Future<void> gate) {
  co_return co_await GroupC3(gate);
}
// The last one to start opens the gate: the root resumes once both await it.
Coroutine<void> GroupC1(Task<FutureCallGraph> task,
                        std::optional<Future<void>> gate) {
  if (gate.has_value()) gate->SetResult();
  co_await task;
}
Coroutine<FutureCallGraph> GroupMain() {
  TaskGroup group;
  Task<FutureCallGraph> root;
  Future<void> gate;
  co_await group.Run([&]() -> Coroutine<void> {
    root = group.CreateTask(GroupC2(gate), {.name = "c2_root"});
    group.CreateTask(GroupC1(root, std::nullopt), {.name = "sub_main_1"});
    group.CreateTask(GroupC1(root, gate), {.name = "sub_main_2"});
    co_return;
  }());
  co_return root.Result();
}

TEST(CallGraphTest, StackTaskGroup) {
  const Walked walked = Walk(asyncio::Run(GroupMain()));
  // The group's task: TaskGroup::Run, then main.
  const Walked group_task =
      walked.awaited_by.empty() ? Walked{} : walked.awaited_by[0];
  EXPECT_EQ(group_task.name, "T<anon>");
  EXPECT_THAT(group_task.stack, ElementsAre("Run", "GroupMain"));
  EXPECT_EQ(walked,
            W("T<c2_root>", {"GroupC4", "GroupC3", "GroupC2"},
              {group_task, W("T<sub_main_1>", {"GroupC1"}, {group_task}),
               W("T<sub_main_2>", {"GroupC1"}, {group_task})}));
}

// --- test_stack_future: a Future awaited by two tasks of a group.

Coroutine<void> FutureA2(Future<void> fut) { co_await fut; }
Coroutine<void> FutureA1(Future<void> fut) { co_await FutureA2(fut); }
Coroutine<void> FutureB1(Future<void> fut, Future<void> both_waiting) {
  both_waiting.SetResult();  // Task A stepped first and is waiting already.
  co_await fut;
}
Coroutine<FutureCallGraph> FutureMain() {
  Future<void> fut;
  Future<void> both_waiting;
  FutureCallGraph graph;
  TaskGroup group;
  co_await group.Run([&]() -> Coroutine<void> {
    group.CreateTask(FutureA1(fut), {.name = "task A"});
    group.CreateTask(FutureB1(fut, both_waiting), {.name = "task B"});
    co_await both_waiting;
    graph = CaptureCallGraph(fut);
    fut.SetResult();
  }());
  co_return graph;
}

TEST(CallGraphTest, StackFuture) {
  const FutureCallGraph graph = asyncio::Run(FutureMain());
  // The running task (it captures): its own coroutine only, as in Python.
  const Walked main_task = W("T<anon>", {"FutureMain"});
  EXPECT_EQ(Walk(graph),
            W("F", {},
              {W("T<task A>", {"FutureA2", "FutureA1"}, {main_task}),
               W("T<task B>", {"FutureB1"}, {main_task})}));
  EXPECT_THAT(FormatCallGraph(graph), StartsWith("* Future(id=0x"));
}

// --- depth and limit (Python's depth counts frames; here coroutines).

Coroutine<FutureCallGraph> Level3(CallGraphOptions options) {
  co_return co_await CurrentCallGraph(options);
}
Coroutine<FutureCallGraph> Level2(CallGraphOptions options) {
  co_return co_await Level3(options);
}
Coroutine<FutureCallGraph> Level1(CallGraphOptions options) {
  co_return co_await Level2(options);
}

std::vector<std::string> StackOf(CallGraphOptions options) {
  return Walk(asyncio::Run(Level1(options))).stack;
}

TEST(CallGraphTest, DepthSkipsTheInnermost) {
  EXPECT_THAT(StackOf({}), ElementsAre("Level3", "Level2", "Level1"));
  EXPECT_THAT(StackOf({.depth = 2}), ElementsAre("Level2", "Level1"));
  EXPECT_THAT(StackOf({.depth = 9}), IsEmpty());
}

TEST(CallGraphTest, LimitKeepsOutermostOrInnermost) {
  EXPECT_THAT(StackOf({.limit = 2}), ElementsAre("Level2", "Level1"));
  EXPECT_THAT(StackOf({.limit = -1}), ElementsAre("Level3"));
  EXPECT_THAT(StackOf({.limit = 0}), IsEmpty());
  EXPECT_THAT(StackOf({.limit = 5}), ElementsAre("Level3", "Level2", "Level1"));
}

Coroutine<void> WaitFor(Future<void> gate) { co_await gate; }
Coroutine<void> Outer(Future<void> gate) { co_await WaitFor(gate); }

TEST(CallGraphTest, LimitAppliesToEveryStackOfTheGraph) {
  asyncio::Run([]() -> Coroutine<void> {
    Future<void> gate;
    Task<void> task = CreateTask(Outer(gate), {.name = "outer"});
    co_await Sleep(absl::ZeroDuration());  // The task's first step.
    const FutureCallGraph graph = CaptureCallGraph(gate, {.limit = -1});
    EXPECT_EQ(graph.awaited_by.size(), 1u);
    if (graph.awaited_by.size() != 1u) co_return;
    EXPECT_EQ(Walk(graph.awaited_by[0]), W("T<outer>", {"WaitFor"}));
    // depth concerns the current task only.
    EXPECT_EQ(Walk(CaptureCallGraph(task, {.depth = 3})),
              W("T<outer>", {"WaitFor", "Outer"}));
    gate.SetResult();
    co_await task;
  }());
}

// --- tasks that are not suspended.

TEST(CallGraphTest, FinishedTaskHasNoStackAndNoAwaiters) {
  asyncio::Run([]() -> Coroutine<void> {
    Task<void> task = CreateTask(Outer(Future<void>()), {.name = "x"});
    task.Cancel();
    try {
      co_await task;
    } catch (const CancelledError&) {
    }
    EXPECT_EQ(Walk(CaptureCallGraph(task)), W("T<x>", {}));
    EXPECT_EQ(
        FormatCallGraph(CaptureCallGraph(task)),
        absl::StrFormat("* Task(name='x', id=%#x)", CaptureCallGraph(task).id));
  }());
}

TEST(CallGraphTest, NotStartedTaskShowsItsOwnCoroutine) {
  asyncio::Run([]() -> Coroutine<void> {
    Future<void> gate;
    Task<void> task = CreateTask(Outer(gate), {.name = "new"});
    EXPECT_EQ(Walk(CaptureCallGraph(task)), W("T<new>", {"Outer"}));
    gate.SetResult();
    co_await task;
  }());
}

// The running task, captured without CurrentCallGraph: its own coroutine.
Coroutine<FutureCallGraph> CaptureSelf() {
  co_return CaptureCallGraph(*CurrentTask());
}
Coroutine<FutureCallGraph> CaptureSelfOuter() {
  co_return co_await CaptureSelf();
}

TEST(CallGraphTest, RunningTaskCapturedByHandleShowsItsOwnCoroutine) {
  EXPECT_THAT(Walk(asyncio::Run(CaptureSelfOuter())).stack,
              ElementsAre("CaptureSelfOuter"));
}

// --- format_call_graph's layout.

TEST(CallGraphTest, FormatNestsAwaitersByFourSpaces) {
  FutureCallGraph graph = asyncio::Run(TaskMain());
  const std::string text = FormatCallGraph(graph);
  const std::vector<std::string> lines = absl::StrSplit(text, '\n');
  ASSERT_EQ(lines.size(), 9u) << text;
  EXPECT_EQ(lines[0],
            absl::StrFormat("* Task(name='there there', id=%#x)", graph.id));
  EXPECT_EQ(lines[1], "  + Call stack:");
  EXPECT_THAT(lines[2], StartsWith("  |   File '"));
  EXPECT_THAT(lines[2], HasSubstr("graph_test.cc', line "));
  EXPECT_THAT(lines[2], ::testing::EndsWith(", in async TaskInner()"));
  EXPECT_THAT(lines[3], ::testing::EndsWith(", in async TaskC1()"));
  EXPECT_EQ(lines[4], "  + Awaited by:");
  EXPECT_THAT(lines[5], StartsWith("    * Task(name='Task-"));
  EXPECT_EQ(lines[6], "      + Call stack:");
  EXPECT_THAT(lines[7], ::testing::EndsWith(", in async TaskC2()"));
  EXPECT_THAT(lines[8], ::testing::EndsWith(", in async TaskMain()"));
  std::ostringstream printed;
  PrintCallGraph(printed, graph);
  EXPECT_EQ(printed.str(), text + "\n");
}

// The spellings users write, with temporaries in the co_await operand (g++ 12
// must run them; see TaskOptions).
TEST(CallGraphTest, Spellings) {
  asyncio::Run([]() -> Coroutine<void> {
    std::ostringstream out;
    PrintCallGraph(out, co_await CurrentCallGraph());
    PrintCallGraph(out, co_await CurrentCallGraph({.depth = 1, .limit = 1}));
    FutureCallGraph g = co_await CurrentCallGraph({.limit = -1});
    EXPECT_EQ(g.call_stack.size(), 1u);
    EXPECT_THAT(out.str(), HasSubstr("* Task(name='Task-1'"));
  }());
}

// --- await cycles: two tasks each awaiting a Shield of the other.

Coroutine<void> AwaitOther(Task<void>* other, Future<void> ready) {
  if (!ready.Done()) ready.SetResult();
  co_await Shield(*other);
}

TEST(CallGraphTest, CycleIsCutAndTheTreeListsIt) {
  asyncio::Run([]() -> Coroutine<void> {
    Task<void> a, b;
    Future<void> a_ready, b_ready;
    a = CreateTask(AwaitOther(&b, a_ready), {.name = "A"});
    b = CreateTask(AwaitOther(&a, b_ready), {.name = "B"});
    co_await b_ready;  // Both are suspended on their shields now.

    const FutureCallGraph graph = CaptureCallGraph(a);
    EXPECT_EQ(graph.name, "A");
    EXPECT_EQ(graph.awaited_by.size(), 1u);
    if (graph.awaited_by.size() != 1u) co_return;
    EXPECT_EQ(graph.awaited_by[0].name, "B");
    EXPECT_EQ(graph.awaited_by[0].awaited_by.size(), 1u);
    if (graph.awaited_by[0].awaited_by.size() != 1u) co_return;
    const FutureCallGraph& again = graph.awaited_by[0].awaited_by[0];
    EXPECT_EQ(again.name, "A");
    EXPECT_TRUE(again.cycle);
    EXPECT_THAT(again.awaited_by, IsEmpty());
    EXPECT_THAT(FormatCallGraph(graph), HasSubstr("(await cycle)"));

    bool has_cycles = false;
    const std::string tree =
        FormatTaskTree(SnapshotTasks(GetRunningLoop()), &has_cycles);
    EXPECT_TRUE(has_cycles);
    EXPECT_THAT(tree, StartsWith("ERROR: await-graph contains cycles - cannot "
                                 "print a tree!\n\n"));
    EXPECT_THAT(tree, HasSubstr("cycle: A → B → A"));

    a.Cancel();  // Cancels A's shield only; B's shield then ends cancelled.
    for (Task<void>* t : {&a, &b}) {
      try {
        co_await *t;
      } catch (const CancelledError&) {
      }
    }
  }());
}

// --- the task tree and table (python -m asyncio pstree / ps).

Coroutine<void> Leaf(Future<void> gate) { co_await gate; }
Coroutine<void> Parent(Future<void> gate) {
  co_await Gather(CreateTask(Leaf(gate), {.name = "leaf-1"}),
                  CreateTask(Leaf(gate), {.name = "leaf-2"}));
}

TEST(TaskTreeTest, TreeShowsAwaitersCoroutinesThenTheTasksTheyAwait) {
  asyncio::Run([]() -> Coroutine<void> {
    Future<void> gate;
    Task<void> parent = CreateTask(Parent(gate), {.name = "parent"});
    co_await Sleep(absl::ZeroDuration());  // parent gathers.
    co_await Sleep(absl::ZeroDuration());  // the leaves wait on the gate.
    const std::vector<TaskSnapshot> tasks = SnapshotTasks(GetRunningLoop());
    EXPECT_EQ(tasks.size(), 4u);  // main, parent, leaf-1, leaf-2.
    if (tasks.size() != 4u) co_return;
    EXPECT_EQ(tasks[1].name, "parent");
    EXPECT_THAT(tasks[2].awaited_by, ElementsAre(tasks[1].id));
    bool has_cycles = true;
    const std::string tree = FormatTaskTree(tasks, &has_cycles);
    EXPECT_FALSE(has_cycles);
    const std::vector<std::string> lines = absl::StrSplit(tree, '\n');
    // main (running: its own coroutine), then parent's tree.
    EXPECT_GE(lines.size(), 7u) << tree;
    if (lines.size() < 7u) co_return;
    EXPECT_THAT(lines[0], StartsWith("└── (T) Task-1"));
    EXPECT_THAT(lines[1], StartsWith("    └──  operator() graph_test.cc:"));
    EXPECT_EQ(lines[2], "└── (T) parent");
    EXPECT_THAT(lines[3], StartsWith("    └──  Parent graph_test.cc:"));
    EXPECT_THAT(lines[4], StartsWith("        └──  GatherTuple gather.h:"));
    EXPECT_EQ(lines[5], "            ├── (T) leaf-1");
    EXPECT_THAT(lines[6],
                StartsWith("            │   └──  Leaf graph_test.cc:"));
    EXPECT_THAT(tree, HasSubstr("            └── (T) leaf-2\n"));

    const std::string table = FormatTaskTable(tasks);
    EXPECT_THAT(table, StartsWith("tid        task id              task name"));
    EXPECT_THAT(table, HasSubstr("leaf-1"));
    EXPECT_THAT(table, HasSubstr("GatherTuple -> Parent"));
    gate.SetResult();
    co_await parent;
  }());
}

// --- the dump on a signal, sent to this process.

TEST(TaskDumpTest, SignalMakesTheLoopDumpItsTasks) {
  asyncio::Run([]() -> Coroutine<void> {
    Future<std::string> dumped;
    absl::StatusOr<std::unique_ptr<TaskDumpOnSignal>> dump =
        InstallTaskDumpOnSignal(GetRunningLoop(), SIGUSR1,
                                [dumped](const std::string& text) mutable {
                                  if (!dumped.Done()) dumped.SetResult(text);
                                });
    EXPECT_TRUE(dump.ok()) << dump.status();
    Future<void> gate;
    Task<void> parent = CreateTask(Parent(gate), {.name = "parent"});
    EXPECT_EQ(::kill(::getpid(), SIGUSR1), 0);
    const std::string text = co_await dumped;
    EXPECT_THAT(text, HasSubstr("└── (T) parent\n"));
    EXPECT_THAT(text, HasSubstr("(T) leaf-2"));
    EXPECT_THAT(text, HasSubstr("\ntid "));
    gate.SetResult();
    co_await parent;
    dump->reset();
  }());
}

TEST(TaskDumpTest, DefaultSinkWritesTheFileThePstreeToolReads) {
  const std::string path = TaskDumpPath(::getpid());
  std::remove(path.c_str());
  asyncio::Run([]() -> Coroutine<void> {
    Future<void> written;
    auto dump = InstallTaskDumpOnSignal(
        GetRunningLoop(), SIGUSR2, [written](const std::string& text) mutable {
          WriteTaskDump(text);
          written.SetResult();
        });
    EXPECT_TRUE(dump.ok()) << dump.status();
    EXPECT_EQ(::raise(SIGUSR2), 0);
    co_await written;
    dump->reset();
  }());
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_THAT(text.str(), StartsWith("└── (T) Task-1\n"));
  std::remove(path.c_str());
}

TEST(TaskDumpTest, UncatchableSignalIsAnOSError) {
  asyncio::Run([]() -> Coroutine<void> {
    auto dump = InstallTaskDumpOnSignal(GetRunningLoop(), SIGKILL);
    EXPECT_FALSE(dump.ok());
    EXPECT_TRUE(IsError(dump.status(), PythonError::kOSError)) << dump.status();
    // Nothing was left installed: another one can be.
    auto again = InstallTaskDumpOnSignal(GetRunningLoop(), SIGUSR1);
    EXPECT_TRUE(again.ok());
    co_return;
  }());
}

TEST(TaskDumpDeathTest, SecondInstallIsMisuse) {
  EXPECT_DEATH(asyncio::Run([]() -> Coroutine<void> {
                 auto first = InstallTaskDumpOnSignal(GetRunningLoop());
                 auto second = InstallTaskDumpOnSignal(GetRunningLoop());
                 co_return;
               }()),
               "RuntimeError: InstallTaskDumpOnSignal: a task dump is already "
               "installed in this process");
}

}  // namespace
}  // namespace pyconc::asyncio
