// Every co_await spelling that README.md and the asyncio headers show,
// written as they show it. g++ 12 miscompiles a temporary with a non-trivial
// destructor inside a co_await operand (a crash at run time, not a compile
// error), so each spelling runs here under the default compiler, in the
// default and asan configs; README.md lists the spellings g++ 12 cannot take.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "asyncio/asyncio.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "threading/pool/executor.h"

namespace pyconc::asyncio {
namespace {

using ::testing::ElementsAre;

Coroutine<int> Answer() {
  co_await Sleep(absl::Milliseconds(5));
  co_return 42;
}

Coroutine<int> Fetch(int i) {
  co_await Sleep(absl::ZeroDuration());
  co_return i;
}

// README.md's example, as written there.
pyconc::asyncio::Coroutine<int> Main() {
  auto task = pyconc::asyncio::CreateTask(Fetch(1));
  co_return co_await task;
}

TEST(SpellingsTest, TheReadmeExample) { EXPECT_EQ(asyncio::Run(Main()), 1); }

// coroutine.h, asyncio.h, sleep.h.
TEST(SpellingsTest, AwaitACoroutineAndSleep) {
  auto main = []() -> Coroutine<int> {
    co_await Sleep(absl::Milliseconds(1));
    co_await Sleep(absl::ZeroDuration());
    int x = co_await Answer();
    co_return x;
  };
  EXPECT_EQ(asyncio::Run(main()), 42);
}

// task.h: the task awaited where it is created, with and without options.
TEST(SpellingsTest, AwaitCreateTaskAsItIsCreated) {
  auto main = []() -> Coroutine<int> {
    int a = co_await CreateTask(Answer());
    int b = co_await CreateTask(Answer(), {.name = "worker"});
    Task<int> t = CreateTask(Answer(), {.name = "worker"});
    int c = co_await t;
    co_return a + b + c;
  };
  EXPECT_EQ(asyncio::Run(main()), 126);
}

// future.h.
TEST(SpellingsTest, AwaitAFuture) {
  auto main = []() -> Coroutine<int> {
    Future<int> f;
    GetRunningLoop().CallLater(absl::Milliseconds(1),
                               [f]() mutable { f.SetResult(7); });
    int x = co_await f;
    co_return x;
  };
  EXPECT_EQ(asyncio::Run(main()), 7);
}

// gather.h.
TEST(SpellingsTest, Gather) {
  auto main = []() -> Coroutine<int> {
    auto [a, b] = co_await Gather(Fetch(1), Fetch(2));
    std::vector<Task<int>> tasks = {CreateTask(Fetch(3)), CreateTask(Fetch(4))};
    std::vector<int> all = co_await Gather(tasks);
    std::vector<Outcome<int>> o = co_await Gather(kReturnExceptions, tasks);
    co_return a + b + all[0] + all[1] + o[0].value() + o[1].value();
  };
  EXPECT_EQ(asyncio::Run(main()), 1 + 2 + 3 + 4 + 3 + 4);
}

// shield.h.
TEST(SpellingsTest, Shield) {
  auto main = []() -> Coroutine<int> {
    Task<int> inner = CreateTask(Answer());
    int x = co_await Shield(inner);
    co_return x;
  };
  EXPECT_EQ(asyncio::Run(main()), 42);
}

// timeouts.h: a named Timeout, a temporary one, and WaitFor.
TEST(SpellingsTest, TimeoutAndWaitFor) {
  auto main = []() -> Coroutine<int> {
    Timeout timeout(absl::Seconds(50));
    absl::StatusOr<int> r = co_await timeout.Run(Answer());
    absl::StatusOr<int> s = co_await Timeout(absl::Seconds(50)).Run(Answer());
    absl::StatusOr<int> t = co_await WaitFor(Answer(), absl::Seconds(50));
    co_return *r + *s + *t;
  };
  EXPECT_EQ(asyncio::Run(main()), 126);
}

// task_group.h.
TEST(SpellingsTest, TaskGroup) {
  auto main = []() -> Coroutine<int> {
    TaskGroup group;
    Task<int> a;
    Task<int> b;
    co_await group.Run([&]() -> Coroutine<void> {
      a = group.CreateTask(Fetch(1));
      b = group.CreateTask(Fetch(2));
      co_return;
    }());
    co_return a.Result() + b.Result();
  };
  EXPECT_EQ(asyncio::Run(main()), 3);
}

// wait.h.
TEST(SpellingsTest, WaitAndAsCompleted) {
  auto main = []() -> Coroutine<std::vector<int>> {
    std::vector<Task<int>> tasks = {CreateTask(Fetch(1))};
    WaitResult<int> r =
        co_await Wait(tasks, {.timeout = absl::Seconds(50),
                              .return_when = ReturnWhen::kFirstCompleted});
    std::vector<int> seen = {r.done[0].Result()};
    AsCompleted<int> next(tasks);
    while (next.HasNext()) {
      absl::StatusOr<Task<int>> t = co_await next.Next();
      seen.push_back(co_await *t);
    }
    co_return seen;
  };
  EXPECT_THAT(asyncio::Run(main()), ElementsAre(1, 1));
}

int CountLines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// executor.h.
TEST(SpellingsTest, ThreadBridges) {
  futures::ThreadPoolExecutor pool;
  const std::string path = "a\nb\n";
  auto main = [&]() -> Coroutine<int> {
    absl::StatusOr<int> n = co_await ToThread(CountLines, path);
    auto f = RunInExecutor(pool, CountLines, path);
    int m = 0;
    if (f.ok()) m = co_await *f;
    co_return *n + m;
  };
  EXPECT_EQ(asyncio::Run(main()), 4);
}

// locks.h and README.md: the ways to test what a Coroutine<bool> gives that
// g++ 12 builds correctly (not `if (co_await ev.Wait())`, which it does not).
TEST(SpellingsTest, TestABoolThatAnAwaitGives) {
  auto main = []() -> Coroutine<int> {
    Event ev;
    ev.Set();
    int seen = 0;
    bool set = co_await ev.Wait();
    if (set) ++seen;
    if (bool again = co_await ev.Wait()) seen += again ? 1 : 0;
    if (!co_await ev.Wait()) seen = -100;
    co_return seen;
  };
  EXPECT_EQ(asyncio::Run(main()), 2);
}

// sockets.h.
TEST(SpellingsTest, Sockets) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  auto main = [&]() -> Coroutine<std::string> {
    absl::Status sent = co_await SockSendAll(fds[1], "hello");
    EXPECT_TRUE(sent.ok());
    char buffer[16];
    absl::StatusOr<size_t> n =
        co_await SockRecv(fds[0], absl::MakeSpan(buffer));
    co_return std::string(buffer, n.value());
  };
  EXPECT_EQ(asyncio::Run(main()), "hello");
  close(fds[0]);
  close(fds[1]);
}

// streams.h, as its header shows them; the handler is a lambda written inside
// the co_await, capturing by reference.
TEST(SpellingsTest, Streams) {
  int served = 0;
  auto main = [&]() -> Coroutine<std::string> {
    auto srv = co_await StartServer(
        [&](StreamReader r, StreamWriter w) -> Coroutine<void> {
          absl::StatusOr<std::string> line = co_await r.ReadLine();
          ++served;
          w.Write(*line);
          absl::Status s = co_await w.Drain();
          w.Close();
          s = co_await w.WaitClosed();
        },
        "127.0.0.1", 0);
    auto conn = co_await OpenConnection("127.0.0.1", srv->Sockets()[0].port);
    auto [r, w] = *std::move(conn);
    w.Write("hi\n");
    absl::Status s = co_await w.Drain();
    absl::StatusOr<std::string> line = co_await r.ReadLine();
    absl::StatusOr<std::string> data = co_await r.ReadExactly(0);
    w.Close();
    s = co_await w.WaitClosed();
    EXPECT_TRUE(s.ok());
    srv->Close();
    co_await srv->WaitClosed();
    co_return *line + *data;
  };
  EXPECT_EQ(asyncio::Run(main()), "hi\n");
  EXPECT_EQ(served, 1);
}

// subprocess.h, as its header shows them.
TEST(SpellingsTest, Subprocess) {
  auto main = []() -> Coroutine<std::string> {
    absl::StatusOr<Process> p =
        CreateSubprocessExec({"echo", "-n", "hi"}, {.out = kPipe});
    auto out = co_await p->Communicate();
    int code = co_await p->Wait();
    absl::StatusOr<Process> q =
        CreateSubprocessShell("echo there", {.out = kPipe});
    absl::StatusOr<std::string> line = co_await q->Stdout()->ReadLine();
    code += co_await q->Wait();
    EXPECT_EQ(code, 0);
    co_return out->out + " " + *line;
  };
  EXPECT_EQ(asyncio::Run(main()), "hi there\n");
}

// graph.h.
TEST(SpellingsTest, CallGraph) {
  auto main = []() -> Coroutine<int> {
    Task<int> task = CreateTask(Fetch(2), {.name = "worker"});
    std::ostringstream out;
    FutureCallGraph g = CaptureCallGraph(task);
    PrintCallGraph(out, g);
    PrintCallGraph(out, co_await CurrentCallGraph());
    PrintCallGraph(out, co_await CurrentCallGraph({.depth = 1, .limit = 1}));
    EXPECT_THAT(out.str(), ::testing::HasSubstr("* Task(name='worker'"));
    co_return co_await task;
  };
  EXPECT_EQ(asyncio::Run(main()), 2);
}

}  // namespace
}  // namespace pyconc::asyncio
