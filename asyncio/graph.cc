#include "asyncio/graph.h"

#include <errno.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "asyncio/loop.h"
#include "asyncio/task_group.h"
#include "base/errors.h"
#include "base/misuse.h"

namespace pyconc::asyncio {
namespace internal {
namespace {

// g++ names a function template's instance with its arguments
// ("GatherTuple<pyconc::asyncio::Task<void> >"): the name alone reads as
// Python's co_qualname does.
FrameCallGraphEntry EntryOf(const PromiseBase& promise) {
  const Where where = promise.where();
  std::string function = where.function;
  if (!absl::StartsWith(function, "operator")) {
    function = function.substr(0, function.find('<'));
  }
  return FrameCallGraphEntry{std::move(function), where.file, where.line};
}

// The coroutines from `innermost` up to the task's own, skipping `skip`.
std::vector<FrameCallGraphEntry> StackFrom(const PromiseBase* innermost,
                                           int skip) {
  std::vector<FrameCallGraphEntry> stack;
  for (const PromiseBase* p = innermost; p != nullptr; p = p->awaiter()) {
    if (skip > 0) {
      --skip;
      continue;
    }
    stack.push_back(EntryOf(*p));
  }
  return stack;
}

// Python's limit: positive keeps the outermost entries, negative the
// innermost (the stack is innermost first).
void ApplyLimit(std::vector<FrameCallGraphEntry>& stack,
                std::optional<int> limit) {
  if (!limit.has_value()) return;
  const size_t keep = static_cast<size_t>(std::abs(*limit));
  if (stack.size() <= keep) return;
  if (*limit > 0) {
    stack.erase(stack.begin(), stack.end() - keep);
  } else {
    stack.resize(keep);
  }
}

// Who awaits whom among the pending tasks of a loop: what each one is
// suspended on, and the TaskGroups' children.
class AwaitIndex {
 public:
  explicit AwaitIndex(LoopCore* loop) {
    if (loop == nullptr) return;
    for (FutureBase* f = loop->tracked_head(); f != nullptr;
         f = f->tracked_next_) {
      if (!f->is_task() || f->done()) continue;
      auto* task = static_cast<TaskBase*>(f);
      tasks_.push_back(task);
      if (Waitable* on = task->waiting_on()) {
        on->ForEachAwaited([&](FutureBase* awaited) { Add(awaited, task); });
      }
    }
    ForEachGroupTask([&](TaskBase* task, TaskBase* owner) {
      if (task->loop() == loop && !owner->done()) Add(task, owner);
    });
    // Oldest first, each awaiter once (Python's awaited_by is a set).
    std::reverse(tasks_.begin(), tasks_.end());
    for (auto& [future, awaiters] : awaited_by_) {
      std::sort(awaiters.begin(), awaiters.end(),
                [](TaskBase* a, TaskBase* b) { return a->id() < b->id(); });
      awaiters.erase(std::unique(awaiters.begin(), awaiters.end()),
                     awaiters.end());
    }
  }

  const std::vector<TaskBase*>& AwaitedBy(FutureBase* future) const {
    static const std::vector<TaskBase*>* const kNone =
        new std::vector<TaskBase*>;
    auto it = awaited_by_.find(future);
    return it == awaited_by_.end() ? *kNone : it->second;
  }
  // The pending tasks, oldest first.
  const std::vector<TaskBase*>& tasks() const { return tasks_; }

 private:
  void Add(FutureBase* awaited, TaskBase* by) {
    if (awaited != by) awaited_by_[awaited].push_back(by);
  }

  std::vector<TaskBase*> tasks_;
  absl::flat_hash_map<FutureBase*, std::vector<TaskBase*>> awaited_by_;
};

// The call stack of `future`; `running_in` is the coroutine that asked, when
// the current task asked about itself.
std::vector<FrameCallGraphEntry> StackOf(FutureBase* future,
                                         const PromiseBase* running_in,
                                         const CallGraphOptions& options) {
  if (!future->is_task() || options.limit == 0) return {};
  auto* task = static_cast<TaskBase*>(future);
  std::vector<FrameCallGraphEntry> stack;
  if (running_in != nullptr && !task->done() && task->loop() != nullptr &&
      task->loop()->current_task() == task) {
    stack = StackFrom(running_in, options.depth - 1);
  } else {
    stack = StackFrom(task->InnermostCoroutine(), 0);
  }
  ApplyLimit(stack, options.limit);
  return stack;
}

FutureCallGraph Build(FutureBase* future, const AwaitIndex& index,
                      const PromiseBase* running_in,
                      const CallGraphOptions& options,
                      std::vector<FutureBase*>& path) {
  FutureCallGraph graph;
  graph.is_task = future->is_task();
  if (graph.is_task) graph.name = static_cast<TaskBase*>(future)->name();
  graph.id = reinterpret_cast<uintptr_t>(future);
  graph.call_stack = StackOf(future, running_in, options);
  if (std::find(path.begin(), path.end(), future) != path.end()) {
    graph.cycle = true;
    return graph;
  }
  path.push_back(future);
  for (TaskBase* awaiter : index.AwaitedBy(future)) {
    graph.awaited_by.push_back(
        Build(awaiter, index, running_in, options, path));
  }
  path.pop_back();
  return graph;
}

}  // namespace

FutureCallGraph CaptureCallGraphOf(FutureBase* future,
                                   const PromiseBase* running_in,
                                   CallGraphOptions options) {
  LoopCore* loop = future->loop();
  const AwaitIndex index(loop != nullptr && !loop->closed() ? loop : nullptr);
  std::vector<FutureBase*> path;
  return Build(future, index, running_in, options, path);
}

}  // namespace internal

namespace {

void RenderLevel(const FutureCallGraph& graph, int level, std::string& out) {
  const std::string indent(4 * level, ' ');
  auto line = [&](const std::string& text) {
    if (!out.empty()) out += '\n';
    absl::StrAppend(&out, indent, text);
  };
  std::string head =
      graph.is_task
          ? absl::StrFormat("* Task(name='%s', id=%#x)", graph.name, graph.id)
          : absl::StrFormat("* Future(id=%#x)", graph.id);
  if (graph.cycle) head += " (await cycle)";
  line(head);
  if (!graph.call_stack.empty()) {
    line("  + Call stack:");
    for (const FrameCallGraphEntry& entry : graph.call_stack) {
      line(absl::StrFormat("  |   File '%s', line %d, in async %s()",
                           entry.file, entry.line, entry.function));
    }
  }
  if (!graph.awaited_by.empty()) {
    line("  + Awaited by:");
    for (const FutureCallGraph& awaiter : graph.awaited_by) {
      RenderLevel(awaiter, level + 1, out);
    }
  }
}

std::string FrameLabel(const FrameCallGraphEntry& entry) {
  const size_t slash = entry.file.rfind('/');
  return absl::StrCat(
      entry.function, " ",
      slash == std::string::npos ? entry.file : entry.file.substr(slash + 1),
      ":", entry.line);
}

}  // namespace

std::string FormatCallGraph(const FutureCallGraph& graph) {
  std::string out;
  RenderLevel(graph, 0, out);
  return out;
}

void PrintCallGraph(std::ostream& out, const FutureCallGraph& graph) {
  out << FormatCallGraph(graph) << '\n';
}

std::vector<TaskSnapshot> SnapshotTasks(EventLoop& loop) {
  const internal::AwaitIndex index(&loop);
  std::vector<TaskSnapshot> tasks;
  tasks.reserve(index.tasks().size());
  for (internal::TaskBase* task : index.tasks()) {
    TaskSnapshot snapshot;
    snapshot.id =
        reinterpret_cast<uintptr_t>(static_cast<internal::FutureBase*>(task));
    snapshot.name = task->name();
    snapshot.call_stack =
        internal::StackFrom(task->InnermostCoroutine(), /*skip=*/0);
    for (internal::TaskBase* awaiter : index.AwaitedBy(task)) {
      snapshot.awaited_by.push_back(reinterpret_cast<uintptr_t>(
          static_cast<internal::FutureBase*>(awaiter)));
    }
    tasks.push_back(std::move(snapshot));
  }
  return tasks;
}

std::string FormatTaskTree(const std::vector<TaskSnapshot>& tasks,
                           bool* has_cycles) {
  if (has_cycles != nullptr) *has_cycles = false;
  absl::flat_hash_map<uintptr_t, const TaskSnapshot*> by_id;
  for (const TaskSnapshot& task : tasks) by_id[task.id] = &task;

  // Task to task edges, awaiter -> awaited, in the order of the snapshot.
  std::map<uintptr_t, std::vector<uintptr_t>> awaits;
  for (const TaskSnapshot& task : tasks) {
    for (uintptr_t awaiter : task.awaited_by) {
      if (by_id.contains(awaiter)) awaits[awaiter].push_back(task.id);
    }
  }

  // Python's _find_cycles: a depth-first search for back edges.
  enum Color { kWhite, kGrey, kBlack };
  absl::flat_hash_map<uintptr_t, Color> color;
  std::vector<uintptr_t> path;
  std::vector<std::vector<uintptr_t>> cycles;
  auto finish = [&](uintptr_t v) {
    color[v] = kBlack;
    path.pop_back();
  };
  std::function<void(uintptr_t)> visit = [&](uintptr_t v) {
    color[v] = kGrey;
    path.push_back(v);
    const auto edges = awaits.find(v);
    if (edges == awaits.end()) return finish(v);
    for (uintptr_t w : edges->second) {
      if (color[w] == kWhite) {
        visit(w);
      } else if (color[w] == kGrey) {
        auto from = std::find(path.begin(), path.end(), w);
        std::vector<uintptr_t> cycle(from, path.end());
        cycle.push_back(w);
        cycles.push_back(std::move(cycle));
      }
    }
    finish(v);
  };
  for (const TaskSnapshot& task : tasks) {
    if (color[task.id] == kWhite) visit(task.id);
  }
  if (!cycles.empty()) {
    if (has_cycles != nullptr) *has_cycles = true;
    std::string out =
        "ERROR: await-graph contains cycles - cannot print a tree!\n\n";
    for (const std::vector<uintptr_t>& cycle : cycles) {
      std::vector<std::string> names;
      for (uintptr_t id : cycle) names.push_back(by_id[id]->name);
      absl::StrAppend(&out, "cycle: ", absl::StrJoin(names, " → "), "\n");
    }
    return out;
  }

  // Python's _build_tree: under each awaiting task, its coroutines from the
  // outermost down, then the task it awaits; a task awaiting no task gets its
  // own coroutines. Coroutine nodes are shared under one parent.
  struct Node {
    std::string label;
    std::vector<int> children;
    std::map<std::string, int> frames;  // Coroutine child by label.
  };
  std::vector<Node> nodes;
  absl::flat_hash_map<uintptr_t, int> task_node;
  for (const TaskSnapshot& task : tasks) {
    task_node[task.id] = static_cast<int>(nodes.size());
    nodes.push_back(Node{"(T) " + task.name, {}, {}});
  }
  auto frame_node = [&](int parent, const FrameCallGraphEntry& entry) {
    const std::string label = " " + FrameLabel(entry);
    auto it = nodes[parent].frames.find(label);
    if (it != nodes[parent].frames.end()) return it->second;
    const int node = static_cast<int>(nodes.size());
    nodes.push_back(Node{label, {}, {}});
    nodes[parent].children.push_back(node);
    nodes[parent].frames.emplace(label, node);
    return node;
  };
  absl::flat_hash_set<int> is_child;
  for (const TaskSnapshot& task : tasks) {
    const auto edges = awaits.find(task.id);
    if (edges == awaits.end()) {
      int cur = task_node[task.id];
      for (auto it = task.call_stack.rbegin(); it != task.call_stack.rend();
           ++it) {
        cur = frame_node(cur, *it);
      }
      continue;
    }
    for (uintptr_t child : edges->second) {
      int cur = task_node[task.id];
      for (auto it = task.call_stack.rbegin(); it != task.call_stack.rend();
           ++it) {
        cur = frame_node(cur, *it);
      }
      const int child_node = task_node[child];
      if (std::find(nodes[cur].children.begin(), nodes[cur].children.end(),
                    child_node) == nodes[cur].children.end()) {
        nodes[cur].children.push_back(child_node);
      }
      is_child.insert(child_node);
    }
  }
  std::string out;
  std::function<void(int, const std::string&, bool)> render =
      [&](int node, const std::string& prefix, bool last) {
        absl::StrAppend(&out, prefix, last ? "└── " : "├── ", nodes[node].label,
                        "\n");
        const std::string next = prefix + (last ? "    " : "│   ");
        const std::vector<int>& kids = nodes[node].children;
        for (size_t i = 0; i < kids.size(); ++i) {
          render(kids[i], next, i + 1 == kids.size());
        }
      };
  for (const TaskSnapshot& task : tasks) {
    const int node = task_node[task.id];
    if (!is_child.contains(node)) render(node, "", true);
  }
  return out;
}

std::string FormatTaskTable(const std::vector<TaskSnapshot>& tasks) {
  absl::flat_hash_map<uintptr_t, const TaskSnapshot*> by_id;
  for (const TaskSnapshot& task : tasks) by_id[task.id] = &task;
  auto chain = [](const std::vector<FrameCallGraphEntry>& stack) {
    std::vector<std::string> names;
    for (const FrameCallGraphEntry& entry : stack) {
      names.push_back(entry.function);
    }
    return absl::StrJoin(names, " -> ");
  };
  const std::string tid = absl::StrCat(::gettid());
  std::string out =
      absl::StrFormat("%-10s %-20s %-20s %-50s %-50s %-15s %-15s\n", "tid",
                      "task id", "task name", "coroutine stack",
                      "awaiter chain", "awaiter name", "awaiter id");
  out += std::string(180, '-') + "\n";
  for (const TaskSnapshot& task : tasks) {
    const std::string id = absl::StrFormat("%#x", task.id);
    const std::string stack = chain(task.call_stack);
    if (task.awaited_by.empty()) {
      absl::StrAppendFormat(&out, "%-10s %-20s %-20s %-50s %-50s %-15s %-15s\n",
                            tid, id, task.name, stack, "", "", "0x0");
      continue;
    }
    for (uintptr_t awaiter : task.awaited_by) {
      auto it = by_id.find(awaiter);
      absl::StrAppendFormat(
          &out, "%-10s %-20s %-20s %-50s %-50s %-15s %-15s\n", tid, id,
          task.name, stack,
          it == by_id.end() ? "" : chain(it->second->call_stack),
          it == by_id.end() ? "Unknown" : it->second->name,
          absl::StrFormat("%#x", awaiter));
    }
  }
  return out;
}

std::string TaskDumpPath(int pid) {
  const char* dir = std::getenv("TMPDIR");
  return absl::StrCat(dir != nullptr && dir[0] != '\0' ? dir : "/tmp",
                      "/pyconc-asyncio-", pid, ".tasks");
}

namespace {

// Whether a dump is installed in this process (one at a time).
std::atomic<bool> dump_installed{false};
// The eventfd of the installed dump, for the handler; -1 when none.
std::atomic<int> dump_fd{-1};
// Handlers between reading dump_fd and their write: the eventfd is closed
// only once none is, so that no handler writes to a reused descriptor.
std::atomic<int> handlers_running{0};

void OnDumpSignal(int) {
  const int saved = errno;
  handlers_running.fetch_add(1);
  const int fd = dump_fd.load();
  if (fd >= 0) {
    const uint64_t one = 1;
    // Async-signal-safe; a full counter (2^64 - 2 signals) loses nothing.
    [[maybe_unused]] const ssize_t n = ::write(fd, &one, sizeof(one));
  }
  handlers_running.fetch_sub(1);
  errno = saved;
}

}  // namespace

// A reader of the file (//asyncio/pstree) never sees half of it.
void WriteTaskDump(const std::string& dump) {
  std::fwrite(dump.data(), 1, dump.size(), stderr);
  const std::string path = TaskDumpPath(::getpid());
  const std::string partial = path + ".partial";
  std::FILE* file = std::fopen(partial.c_str(), "w");
  if (file == nullptr) return;
  const bool written =
      std::fwrite(dump.data(), 1, dump.size(), file) == dump.size();
  if (std::fclose(file) == 0 && written) {
    std::rename(partial.c_str(), path.c_str());
  } else {
    std::remove(partial.c_str());
  }
}

TaskDumpOnSignal::TaskDumpOnSignal(EventLoop& loop, int signo, int fd,
                                   struct sigaction previous)
    : loop_(loop), signo_(signo), fd_(fd), previous_(previous) {}

TaskDumpOnSignal::~TaskDumpOnSignal() {
  ::sigaction(signo_, &previous_, nullptr);
  dump_fd.store(-1);
  while (handlers_running.load() != 0) std::this_thread::yield();
  if (!loop_.IsClosed()) loop_.RemoveReader(fd_);
  ::close(fd_);
  dump_installed.store(false);
}

absl::StatusOr<std::unique_ptr<TaskDumpOnSignal>> InstallTaskDumpOnSignal(
    EventLoop& loop, int signo, TaskDumpSink sink) {
  if (dump_installed.exchange(true)) {
    pyconc::internal::Misuse("RuntimeError",
                             "InstallTaskDumpOnSignal: a task dump is already "
                             "installed in this process");
  }
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    dump_installed.store(false);
    return ErrnoError(error, "eventfd");
  }
  struct sigaction action = {};
  action.sa_handler = &OnDumpSignal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  struct sigaction previous = {};
  dump_fd.store(fd);
  if (::sigaction(signo, &action, &previous) != 0) {
    const int error = errno;
    dump_fd.store(-1);
    ::close(fd);
    dump_installed.store(false);
    return ErrnoError(error, absl::StrCat("sigaction(", signo, ")"));
  }
  if (!sink) sink = &WriteTaskDump;
  loop.AddReader(fd, [fd, &loop, sink = std::move(sink)]() mutable {
    uint64_t count = 0;
    if (::read(fd, &count, sizeof(count)) != sizeof(count)) return;
    const std::vector<TaskSnapshot> tasks = SnapshotTasks(loop);
    sink(absl::StrCat(FormatTaskTree(tasks), "\n", FormatTaskTable(tasks)));
  });
  return std::unique_ptr<TaskDumpOnSignal>(
      new TaskDumpOnSignal(loop, signo, fd, previous));
}

}  // namespace pyconc::asyncio
