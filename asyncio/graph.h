// Who awaits whom: Python 3.14's asyncio.graph (capture_call_graph,
// format_call_graph, print_call_graph), and the task tree and table of
// `python -m asyncio pstree PID` / `ps PID`, which a running program prints
// when asked from outside (a signal; //asyncio/pstree sends it and shows the
// answer).
//
//   FutureCallGraph g = CaptureCallGraph(task);        // capture_call_graph(t)
//   PrintCallGraph(std::cout, g);                     // print_call_graph(t)
//   PrintCallGraph(std::cout, co_await CurrentCallGraph());  // ... ()
//   auto dump = InstallTaskDumpOnSignal(loop);         // SIGUSR1 -> tree
//
// A FutureCallGraph is a snapshot: the future (a Task or a Future), its call
// stack (the coroutines it is suspended in, innermost first), and the graphs
// of the tasks awaiting it. A task awaits a future when it is suspended on it
// (`co_await fut`, `co_await task`), on a Gather or a Wait of it (each future
// given), on a Shield of it (the inner), and a task created in a TaskGroup is
// awaited by the task running the group until it is done: Python 3.14's
// future_add_to_awaited_by edges, from the same places.
//
// Where C++ forced a difference:
// - A coroutine frame has no Python frame: a call stack entry is a pyconc
//   Coroutine, named by its function and the file and line where that
//   function is defined (its promise records them when the coroutine is
//   created; the line the coroutine is suspended at is not recorded). A
//   function template's arguments are left out of its name.
//   Functions that are not coroutines do not appear.
// - How it stays free when unused: nothing is stored for it on the hot path.
//   A coroutine's awaiter and a task's innermost coroutine are found from the
//   frame addresses the continuation and the task already hold (PromiseAt in
//   coroutine.h; an awaiter whose result type is over-aligned, alignof > 16,
//   ends the stack there). Who awaits a future is not kept as Python keeps
//   _asyncio_awaited_by: capturing computes it from what every pending task
//   of the loop is suspended on and from the TaskGroups running on the
//   thread, so a capture costs O(pending tasks).
// - The running task: which of its coroutines runs is not recorded, so
//   CaptureCallGraph of the running task shows its own coroutine only. Inside
//   a task, `co_await CurrentCallGraph()` (Python's capture_call_graph() with
//   no future) gives the full stack, starting at the awaiting coroutine.
// - Shield: the task awaiting the outer future awaits the inner (Python: the
//   task that called shield).
// - An await cycle (tasks awaiting each other): Python's capture recurses
//   until RecursionError; here a future met again on the way from the root
//   appears once more with `cycle` set and no awaited_by.
// - The task dump holds no Python frame ids: "task id" is the task's
//   address, and the tree's coroutine lines name the function and its file.
//
// Thread-safety: capturing and formatting a live task's graph run on its
// loop's thread (as AllTasks()); the snapshots are plain values. The signal
// handler only writes to an eventfd; the loop's thread builds and prints the
// dump when it next polls.

#ifndef PYCONC_ASYNCIO_GRAPH_H_
#define PYCONC_ASYNCIO_GRAPH_H_

#include <signal.h>

#include <concepts>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "asyncio/coroutine.h"
#include "asyncio/future.h"
#include "asyncio/task.h"

namespace pyconc::asyncio {

class EventLoop;

// Python's FrameCallGraphEntry: one coroutine of a call stack.
struct FrameCallGraphEntry {
  std::string function;  // The coroutine's function, e.g. "Fetch".
  std::string file;      // The file defining it, as the compiler names it.
  int line = 0;          // A line of its definition (g++: its closing brace).
};

// Python's FutureCallGraph(future, call_stack, awaited_by).
struct FutureCallGraph {
  bool is_task = false;
  std::string name;  // The task's name (Python's get_name()); empty otherwise.
  uintptr_t id = 0;  // The future's address (Python prints id(future)).
  // The coroutines the task is suspended in, innermost first; empty for a
  // Future, a finished task or with limit 0.
  std::vector<FrameCallGraphEntry> call_stack;
  // The tasks awaiting this future, oldest first.
  std::vector<FutureCallGraph> awaited_by;
  // Already on the way from the root: an await cycle; awaited_by is empty.
  bool cycle = false;
};

// The keyword arguments of capture_call_graph(future, *, depth, limit).
// Trivially destructible, so a temporary in a co_await operand is safe with
// g++ 12 (see TaskOptions).
struct CallGraphOptions {
  // For CurrentCallGraph: 1 starts the stack at the awaiting coroutine, each
  // more skips one more (Python's depth, which counts frames).
  int depth = 1;
  // Each call stack keeps at most |limit| entries: a positive limit keeps the
  // outermost (the task's own coroutine and those next to it), a negative one
  // the innermost; 0 keeps none. Unset keeps all.
  std::optional<int> limit;
};
static_assert(std::is_trivially_destructible_v<CallGraphOptions>);

namespace internal {
FutureCallGraph CaptureCallGraphOf(FutureBase* future,
                                   const PromiseBase* running_in,
                                   CallGraphOptions options);

// `co_await CurrentCallGraph()`: never suspends; its await_suspend only
// learns which coroutine awaits it.
class CurrentCallGraphAwaiter {
 public:
  explicit CurrentCallGraphAwaiter(CallGraphOptions options)
      : options_(options) {}
  bool await_ready() const noexcept { return false; }
  template <typename P>
  bool await_suspend(std::coroutine_handle<P> caller) noexcept {
    caller_ = &caller.promise();
    task_ = static_cast<TaskBase*>(caller.promise().task());
    return false;
  }
  FutureCallGraph await_resume() const {
    return CaptureCallGraphOf(task_, caller_, options_);
  }

 private:
  CallGraphOptions options_;
  const PromiseBase* caller_ = nullptr;
  TaskBase* task_ = nullptr;
};
}  // namespace internal

// Python's capture_call_graph(future): the graph of a Task or Future.
template <typename F>
requires requires(const F& f) {
  { f.base() } -> std::convertible_to<internal::FutureBase*>;
}
FutureCallGraph CaptureCallGraph(const F& future,
                                 CallGraphOptions options = {}) {
  return internal::CaptureCallGraphOf(future.base(), nullptr, options);
}

// Python's capture_call_graph() inside a task: the current task's graph, its
// call stack starting at the coroutine that awaits this.
inline internal::CurrentCallGraphAwaiter CurrentCallGraph(
    CallGraphOptions options = {}) {
  return internal::CurrentCallGraphAwaiter(options);
}

// Python's format_call_graph: the graph as lines, without a final newline:
//   * Task(name='worker', id=0x...)
//     + Call stack:
//     |   File 'tool.cc', line 12, in async Fetch()
//     + Awaited by:
//         * Task(name='Task-1', id=0x...)
std::string FormatCallGraph(const FutureCallGraph& graph);
// Python's print_call_graph(file=out): FormatCallGraph and a newline.
void PrintCallGraph(std::ostream& out, const FutureCallGraph& graph);

// One pending task of a loop, as `python -m asyncio ps` lists it.
struct TaskSnapshot {
  uintptr_t id = 0;  // The task's address.
  std::string name;
  std::vector<FrameCallGraphEntry> call_stack;  // Innermost first.
  // The tasks awaiting this one (ids, oldest first), directly or through a
  // Gather, a Wait, a Shield or a TaskGroup.
  std::vector<uintptr_t> awaited_by;
};

// Every pending task of `loop`, oldest first. On the loop's thread, between
// task steps (not from inside a task: the running one's stack is unknown).
std::vector<TaskSnapshot> SnapshotTasks(EventLoop& loop);

// `python -m asyncio pstree`: one tree per task nobody awaits, each task
// followed by the coroutines leading to the tasks it awaits ("(T) name" and
// " function file:line" lines). With an await cycle, Python's error and the
// cycles instead, and `has_cycles` (when given) set.
std::string FormatTaskTree(const std::vector<TaskSnapshot>& tasks,
                           bool* has_cycles = nullptr);
// `python -m asyncio ps`: one row per task and awaiter (tid, task id, task
// name, coroutine stack, awaiter chain, awaiter name, awaiter id).
std::string FormatTaskTable(const std::vector<TaskSnapshot>& tasks);

// What the dump is handed to, on the loop's thread: the tree, then the table.
using TaskDumpSink = absl::AnyInvocable<void(const std::string& dump)>;

// The file the default sink writes for process `pid` (what //asyncio/pstree
// reads): $TMPDIR (or /tmp) /pyconc-asyncio-<pid>.tasks.
std::string TaskDumpPath(int pid);

// The default sink: writes `dump` to stderr, and to TaskDumpPath(getpid())
// under another name first, renamed when complete.
void WriteTaskDump(const std::string& dump);

// While alive, `signo` makes the loop dump its tasks (Python's pstree and ps
// of itself). Destroy it on the loop's thread, before the loop closes; it
// restores the signal's previous handler.
class TaskDumpOnSignal {
 public:
  TaskDumpOnSignal(const TaskDumpOnSignal&) = delete;
  TaskDumpOnSignal& operator=(const TaskDumpOnSignal&) = delete;
  ~TaskDumpOnSignal();

 private:
  friend absl::StatusOr<std::unique_ptr<TaskDumpOnSignal>>
  InstallTaskDumpOnSignal(EventLoop&, int, TaskDumpSink);
  TaskDumpOnSignal(EventLoop& loop, int signo, int fd,
                   struct sigaction previous);

  EventLoop& loop_;
  int signo_;
  int fd_;
  struct sigaction previous_;
};

// Makes `signo` dump the tasks of `loop` to `sink` (by default: to stderr, and
// atomically to TaskDumpPath(getpid())). The handler writes to an eventfd the
// loop watches, nothing else. One per process: misuse (RuntimeError) while
// another is installed; the OSError of eventfd or sigaction as a status
// (EINVAL for a signal that cannot be caught).
absl::StatusOr<std::unique_ptr<TaskDumpOnSignal>> InstallTaskDumpOnSignal(
    EventLoop& loop, int signo = SIGUSR1, TaskDumpSink sink = {});

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_GRAPH_H_
