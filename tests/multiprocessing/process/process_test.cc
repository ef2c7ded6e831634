// Process, Pipe and Queue: the behaviours CPython's
// Lib/test/_test_multiprocessing.py checks (exit codes, join timeouts, pipe
// EOF, queues across processes), on pyconc's fork server.
#include "multiprocessing/process/process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "multiprocessing/process/connection.h"
#include "multiprocessing/process/queue.h"
#include "tests/multiprocessing/process/no_orphans.h"
#include "threading/thread/thread.h"

namespace pyconc::multiprocessing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ProcessTest = testing::NoOrphansTest;

constexpr absl::Duration kShort = absl::Milliseconds(50);

void ReturnAtOnce() {}
void Throw() { throw std::runtime_error("boom"); }
void ExitWith(int status) { std::exit(status); }
void UnderscoreExitWith(int status) { ::_exit(status); }
// Blocks until something arrives on `conn` (or it reaches EOF).
void WaitForMessage(Connection conn) { (void)conn.Recv<int>(); }

TEST_F(ProcessTest, ExitCodeIsZeroWhenTheTargetReturns) {
  Process p(&ReturnAtOnce);
  EXPECT_FALSE(p.IsAlive());
  EXPECT_EQ(p.pid(), 0);
  EXPECT_EQ(p.ExitCode(), std::nullopt);
  EXPECT_TRUE(p.Start().ok());
  EXPECT_GT(p.pid(), 0);
  EXPECT_NE(p.pid(), ::getpid());
  p.Join();
  EXPECT_FALSE(p.IsAlive());
  EXPECT_EQ(p.ExitCode(), 0);
}

TEST_F(ProcessTest, ExitCodeIsOneWhenAnExceptionEscapes) {
  Process p(&Throw);
  EXPECT_TRUE(p.Start().ok());
  p.Join();
  EXPECT_EQ(p.ExitCode(), 1);
}

TEST_F(ProcessTest, ExitCodeIsTheStatusGivenToExit) {
  Process exits(&ExitWith, 7);
  Process underscore_exits(&UnderscoreExitWith, 3);
  Process exits_zero(&ExitWith, 0);
  EXPECT_TRUE(exits.Start().ok());
  EXPECT_TRUE(underscore_exits.Start().ok());
  EXPECT_TRUE(exits_zero.Start().ok());
  exits.Join();
  underscore_exits.Join();
  exits_zero.Join();
  EXPECT_EQ(exits.ExitCode(), 7);
  EXPECT_EQ(underscore_exits.ExitCode(), 3);
  EXPECT_EQ(exits_zero.ExitCode(), 0);
}

TEST_F(ProcessTest, TerminateGivesMinusSigterm) {
  auto [parent, child] = Pipe();
  Process p(&WaitForMessage, child);
  EXPECT_TRUE(p.Start().ok());
  EXPECT_TRUE(p.IsAlive());
  p.Terminate();
  p.Join();
  EXPECT_EQ(p.ExitCode(), -SIGTERM);
  EXPECT_FALSE(p.IsAlive());
  p.Terminate();  // Harmless once it has ended, as in Python.
}

TEST_F(ProcessTest, KillGivesMinusSigkill) {
  auto [parent, child] = Pipe();
  Process p(&WaitForMessage, child);
  EXPECT_TRUE(p.Start().ok());
  p.Kill();
  p.Join();
  EXPECT_EQ(p.ExitCode(), -SIGKILL);
}

TEST_F(ProcessTest, JoinWithATimeoutAnswersWhetherTheChildEnded) {
  auto [parent, child] = Pipe();
  Process p(&WaitForMessage, child);
  EXPECT_TRUE(p.Start().ok());
  const absl::Time start = absl::Now();
  EXPECT_FALSE(p.Join(kShort));
  EXPECT_GE(absl::Now() - start, kShort);
  EXPECT_TRUE(p.IsAlive());
  EXPECT_EQ(p.ExitCode(), std::nullopt);
  ASSERT_TRUE(parent.Send(1).ok());
  EXPECT_TRUE(p.Join(absl::InfiniteDuration()));
  EXPECT_TRUE(p.Join(absl::ZeroDuration()));
  EXPECT_EQ(p.ExitCode(), 0);
}

struct Point {
  int x = 0;
  std::string label;
  template <typename Archive>
  void serialize(Archive& archive) {
    archive(x, label);
  }
};

void Describe(int n, std::string word, std::vector<int> list, Point point,
              Connection conn) {
  int sum = 0;
  for (int v : list) sum += v;
  (void)conn.Send(word + ":" + std::to_string(n + sum) + ":" + point.label +
                  std::to_string(point.x) + ":" + CurrentProcessName());
}

TEST_F(ProcessTest, ArgumentsOfManyTypesCrossAndResultsComeBack) {
  auto [parent, child] = Pipe();
  Process p({.name = "describer"}, &Describe, 1, std::string("sum"),
            std::vector<int>{2, 3}, Point{.x = 4, .label = "p"}, child);
  EXPECT_TRUE(p.Start().ok());
  absl::StatusOr<std::string> answer = parent.Recv<std::string>();
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(*answer, "sum:6:p4:describer");
  p.Join();
  EXPECT_EQ(p.ExitCode(), 0);
  EXPECT_EQ(CurrentProcessName(), "MainProcess");
}

TEST_F(ProcessTest, ArgumentsAreTakenWhenTheProcessIsMade) {
  auto [parent, child] = Pipe();
  std::vector<int> list = {1};
  Process p(&Describe, 0, std::string("s"), list, Point{}, child);
  list.push_back(100);
  EXPECT_TRUE(p.Start().ok());
  EXPECT_THAT(parent.Recv<std::string>().value(), HasSubstr("s:1:"));
  p.Join();
}

TEST_F(ProcessTest, ACaptureLessLambdaIsATarget) {
  auto [parent, child] = Pipe();
  Process p([](Connection conn, int x) { (void)conn.Send(x * x); }, child, 12);
  EXPECT_TRUE(p.Start().ok());
  EXPECT_EQ(parent.Recv<int>().value(), 144);
  p.Join();
  EXPECT_EQ(p.ExitCode(), 0);
}

// Python's Process(target=f) with args=(): a lambda without arguments.
TEST_F(ProcessTest, AZeroArgumentLambdaIsATarget) {
  Process p([] { std::exit(7); });
  EXPECT_TRUE(p.Start().ok());
  p.Join();
  EXPECT_EQ(p.ExitCode(), 7);
  Process q(&ReturnAtOnce);
  EXPECT_TRUE(q.Start().ok());
  q.Join();
  EXPECT_EQ(q.ExitCode(), 0);
}

TEST_F(ProcessTest, NamesDefaultToProcessN) {
  Process a(&ReturnAtOnce);
  Process b(&ReturnAtOnce);
  EXPECT_THAT(a.name(), ::testing::StartsWith("Process-"));
  EXPECT_NE(a.name(), b.name());
  Process named({.name = "worker", .daemon = true}, &ReturnAtOnce);
  EXPECT_EQ(named.name(), "worker");
  EXPECT_TRUE(named.daemon());
  named.set_daemon(false);
  EXPECT_FALSE(named.daemon());
}

TEST_F(ProcessTest, CloseReleasesAnEndedProcess) {
  Process p(&ReturnAtOnce);
  EXPECT_TRUE(p.Start().ok());
  p.Join();
  p.Close();
  p.Close();
}

TEST_F(ProcessTest, ManyProcessesAllEndWithTheirOwnExitCode) {
  std::deque<Process> processes;
  for (int i = 0; i < 40; ++i) {
    processes.emplace_back(&ExitWith, i % 5);
    EXPECT_TRUE(processes.back().Start().ok());
  }
  for (int i = 0; i < 40; ++i) {
    processes[i].Join();
    EXPECT_EQ(processes[i].ExitCode(), i % 5);
  }
}

void StartGrandchild(int status) {
  Process grandchild(&ExitWith, status);
  EXPECT_TRUE(grandchild.Start().ok());
  grandchild.Join();
  std::exit(*grandchild.ExitCode() + 1);
}

TEST_F(ProcessTest, AChildStartsItsOwnChildren) {
  Process p(&StartGrandchild, 4);
  EXPECT_TRUE(p.Start().ok());
  p.Join();
  EXPECT_EQ(p.ExitCode(), 5);
}

void SendChildrensNames(Connection conn) {
  Process first(&ReturnAtOnce);
  Process named({.name = "worker"}, &ReturnAtOnce);
  Process third(&ReturnAtOnce);
  (void)conn.Send(std::vector<std::string>{CurrentProcessName(), first.name(),
                                           named.name(), third.name()});
}

// CPython _test_multiprocessing.py (_TestProcess.test_process, identity):
// a child's children are named after its identity, "Process-3:1", so names
// never repeat across the tree; a named Process still takes a number.
TEST_F(ProcessTest, ChildrenOfAChildAreNamedAfterItsIdentity) {
  auto [parent, child] = Pipe();
  Process p(&SendChildrensNames, child);
  EXPECT_TRUE(p.Start().ok());
  const std::vector<std::string> names =
      parent.Recv<std::vector<std::string>>().value();
  p.Join();
  ASSERT_EQ(names.size(), 4u);
  EXPECT_EQ(names[0], p.name());
  EXPECT_EQ(names[1], p.name() + ":1");
  EXPECT_EQ(names[2], "worker");
  EXPECT_EQ(names[3], p.name() + ":3");
}

void StartThreadThenReturn(Connection conn) {
  // A non-daemon thread that answers only once the parent asks.
  threading::Thread answer(
      [](Connection* c) {
        if (c->Recv<int>().ok()) (void)c->Send(std::string("joined"));
        delete c;
      },
      new Connection(std::move(conn)));
  EXPECT_TRUE(answer.Start().ok());
}

// CPython _test_multiprocessing.py (_TestProcess, a child's non-daemon
// threads are joined by threading._shutdown before it exits).
TEST_F(ProcessTest, AChildWaitsForItsNonDaemonThreads) {
  auto [parent, child] = Pipe();
  Process p(&StartThreadThenReturn, child);
  EXPECT_TRUE(p.Start().ok());
  child.Close();
  ASSERT_TRUE(parent.Send(1).ok());
  EXPECT_EQ(parent.Recv<std::string>().value(), "joined");
  p.Join();
  EXPECT_EQ(p.ExitCode(), 0);
}

void ReportParent(Connection conn) {
  std::optional<ProcessHandle> parent = ParentProcess();
  if (!parent.has_value()) std::exit(3);
  (void)conn.Send(
      std::make_pair(parent->name(), static_cast<int>(parent->pid())));
  (void)conn.Send(parent->IsAlive());
}

// CPython _test_multiprocessing.py (_TestParentProcess.test_parent_process):
// a child's parent_process() names its parent and sees it alive; the main
// process has none.
TEST_F(ProcessTest, ParentProcessNamesTheParent) {
  EXPECT_FALSE(ParentProcess().has_value());
  auto [parent, child] = Pipe();
  Process p(&ReportParent, child);
  EXPECT_TRUE(p.Start().ok());
  const auto [name, pid] = parent.Recv<std::pair<std::string, int>>().value();
  EXPECT_EQ(name, "MainProcess");
  EXPECT_EQ(pid, ::getpid());
  EXPECT_TRUE(parent.Recv<bool>().value());
  p.Join();
  EXPECT_EQ(p.ExitCode(), 0);
}

// CPython _test_multiprocessing.py (_TestProcess.test_active_children).
TEST_F(ProcessTest, ActiveChildrenListsTheRunningOnes) {
  EXPECT_TRUE(ActiveChildren().empty());
  auto [a_parent, a_child] = Pipe();
  auto [b_parent, b_child] = Pipe();
  Process a(&WaitForMessage, a_child);
  Process b(&WaitForMessage, b_child);
  EXPECT_TRUE(a.Start().ok());
  EXPECT_TRUE(b.Start().ok());
  std::vector<ProcessHandle> running = ActiveChildren();
  ASSERT_EQ(running.size(), 2u);
  EXPECT_EQ(running[0].pid(), a.pid());
  EXPECT_EQ(running[0].name(), a.name());
  EXPECT_EQ(running[1].pid(), b.pid());
  EXPECT_TRUE(running[1].IsAlive());
  ASSERT_TRUE(a_parent.Send(1).ok());
  a.Join();
  running = ActiveChildren();
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(running[0].pid(), b.pid());
  ASSERT_TRUE(b_parent.Send(1).ok());
  EXPECT_TRUE(running[0].Join(absl::InfiniteDuration()));
  EXPECT_EQ(running[0].ExitCode(), 0);
  EXPECT_TRUE(ActiveChildren().empty());
}

// --- Pipe ------------------------------------------------------------------

void SendThree(Connection conn) {
  for (int i = 1; i <= 3; ++i) (void)conn.Send(i * 10);
}

TEST_F(ProcessTest, PipeGivesEofOnceThePeerProcessHasExited) {
  auto [parent, child] = Pipe();
  Process p(&SendThree, child);
  EXPECT_TRUE(p.Start().ok());
  child.Close();  // The parent's copy; the child holds its own.
  std::vector<int> got;
  absl::StatusOr<int> value;
  while ((value = parent.Recv<int>()).ok()) got.push_back(*value);
  EXPECT_THAT(got, ElementsAre(10, 20, 30));
  EXPECT_EQ(value.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(value.status().message(), HasSubstr("EOFError"));
  p.Join();
}

TEST_F(ProcessTest, PipeInOneProcess) {
  auto [a, b] = Pipe();
  ASSERT_TRUE(a.Send(std::string("hello")).ok());
  ASSERT_TRUE(b.Send(std::vector<double>{1.5}).ok());
  EXPECT_EQ(b.Recv<std::string>().value(), "hello");
  EXPECT_THAT(a.Recv<std::vector<double>>().value(), ElementsAre(1.5));
  ASSERT_TRUE(a.SendBytes("raw").ok());
  EXPECT_EQ(b.RecvBytes().value(), "raw");
  b.Close();
  EXPECT_TRUE(b.closed());
  EXPECT_EQ(a.Recv<int>().status().code(), absl::StatusCode::kOutOfRange);
  const absl::Status sent = a.Send(1);
  EXPECT_EQ(sent.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(sent.message(), HasSubstr("BrokenPipeError"));
}

TEST_F(ProcessTest, PollWaitsUpToItsTimeout) {
  auto [a, b] = Pipe();
  EXPECT_FALSE(b.Poll());
  const absl::Time start = absl::Now();
  EXPECT_FALSE(b.Poll(kShort));
  EXPECT_GE(absl::Now() - start, kShort);
  ASSERT_TRUE(a.Send(5).ok());
  EXPECT_TRUE(b.Poll(absl::InfiniteDuration()));
  EXPECT_EQ(b.Recv<int>().value(), 5);
  a.Close();
  EXPECT_TRUE(b.Poll(kShort));  // EOF counts as readable, as in Python.
}

TEST_F(ProcessTest, AOneWayPipeReceivesOnTheFirstEndOnly) {
  auto [reader, writer] = Pipe(/*duplex=*/false);
  EXPECT_TRUE(reader.readable());
  EXPECT_FALSE(reader.writable());
  EXPECT_FALSE(writer.readable());
  EXPECT_TRUE(writer.writable());
  ASSERT_TRUE(writer.Send(std::map<std::string, int>{{"a", 1}}).ok());
  using Map = std::map<std::string, int>;
  EXPECT_EQ(reader.Recv<Map>().value().at("a"), 1);
}

TEST_F(ProcessTest, BytesOfAnotherTypeAreAnUnpicklingError) {
  auto [a, b] = Pipe();
  ASSERT_TRUE(a.SendBytes("x").ok());
  const absl::Status status = b.Recv<std::vector<int64_t>>().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("UnpicklingError"));
}

long MaxResidentKiB() {
  rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// CPython's connection reads a message as its bytes arrive; a length prefix
// alone allocates nothing. An 11-byte frame claiming 2 GiB is an EOFError
// once the peer closes, with no more memory than it sent.
TEST_F(ProcessTest, AHostileLengthPrefixAllocatesOnlyWhatArrives) {
  auto [a, b] = Pipe();
  const long before = MaxResidentKiB();
  const uint64_t claimed = uint64_t{2} << 30;
  ASSERT_EQ(::write(a.fileno(), &claimed, sizeof(claimed)), 8);
  ASSERT_EQ(::write(a.fileno(), "abc", 3), 3);
  a.Close();
  const absl::StatusOr<std::string> got = b.RecvBytes();
  EXPECT_TRUE(IsError(got.status(), PythonError::kEOFError)) << got.status();
  EXPECT_LT(MaxResidentKiB() - before, 256 << 10);
}

// Bytes that claim more than they hold, or a bool that is neither 0 nor 1,
// are pickle.UnpicklingError: no exception, no huge allocation, no UB.
TEST_F(ProcessTest, CorruptBytesDecodeToUnpicklingError) {
  std::string nine(9, '\0');
  const uint64_t claimed = uint64_t{8} << 30;
  std::memcpy(nine.data(), &claimed, sizeof(claimed));
  EXPECT_TRUE(IsError(internal::Decode<std::string>(nine).status(),
                      PythonError::kUnpicklingError));
  EXPECT_TRUE(IsError(internal::Decode<std::vector<std::string>>(nine).status(),
                      PythonError::kUnpicklingError));
  EXPECT_TRUE(IsError(internal::Decode<bool>(std::string(1, '\x02')).status(),
                      PythonError::kUnpicklingError));
  EXPECT_TRUE(IsError(internal::Decode<std::vector<bool>>(
                          std::string("\x01\0\0\0\0\0\0\0\x07", 9))
                          .status(),
                      PythonError::kUnpicklingError));
  EXPECT_EQ(internal::Decode<bool>(std::string(1, '\x01')).value(), true);
  EXPECT_EQ(internal::Decode<std::string>(*internal::Encode(std::string("ok")))
                .value(),
            "ok");
}

TEST_F(ProcessTest, AConnectionCannotTravelInsideAMessage) {
  auto [a, b] = Pipe();
  auto [c, d] = Pipe();
  const absl::Status status = a.Send(c);
  EXPECT_TRUE(IsError(status, PythonError::kPicklingError)) << status;
  EXPECT_THAT(status.message(), HasSubstr("only as an argument"));
}

void AnswerThenWait(Connection conn) {
  (void)conn.Send(1);
  (void)conn.Recv<int>();
}

// CPython _test_multiprocessing.py (TestWait.test_wait,
// test_wait_integer): connection.wait() over connections and process
// sentinels answers the ready ones.
TEST_F(ProcessTest, ConnectionWaitAnswersReadyConnectionsAndEndedProcesses) {
  auto [parent, child] = Pipe();
  Process p(&AnswerThenWait, child);
  EXPECT_TRUE(p.Start().ok());
  child.Close();
  const std::vector<int> watched = {parent.fileno(), p.sentinel()};
  EXPECT_EQ(connection::Wait(watched), std::vector<int>{parent.fileno()});
  EXPECT_EQ(parent.Recv<int>().value(), 1);
  EXPECT_TRUE(connection::Wait({p.sentinel()}, absl::ZeroDuration()).empty());
  ASSERT_TRUE(parent.Send(2).ok());
  // The child ends: its sentinel is ready, and then so is the pipe (EOF).
  EXPECT_EQ(connection::Wait({p.sentinel()}), std::vector<int>{p.sentinel()});
  EXPECT_EQ(connection::Wait(watched), watched);
  p.Join();
  EXPECT_EQ(p.ExitCode(), 0);
}

// --- Queue -----------------------------------------------------------------

constexpr int kItemsPerProducer = 500;
constexpr int kStop = -1;

void Produce(int first, Queue<int> queue) {
  for (int i = first; i < first + kItemsPerProducer; ++i) {
    if (!queue.Put(i).ok()) std::exit(2);
  }
}

void Consume(Queue<int> queue, Queue<std::vector<int>> results) {
  std::vector<int> got;
  while (true) {
    absl::StatusOr<int> item = queue.Get();
    if (!item.ok()) std::exit(2);
    if (*item == kStop) break;
    got.push_back(*item);
  }
  (void)results.Put(got);
}

TEST_F(ProcessTest, QueueAcrossFourProcessesDeliversEachItemExactlyOnce) {
  Queue<int> queue;
  Queue<std::vector<int>> results;
  std::deque<Process> producers, consumers;
  for (int c = 0; c < 2; ++c) {
    consumers.emplace_back(&Consume, queue, results);
    EXPECT_TRUE(consumers.back().Start().ok());
  }
  for (int p = 0; p < 2; ++p) {
    producers.emplace_back(&Produce, p * 100000, queue);
    EXPECT_TRUE(producers.back().Start().ok());
  }
  for (Process& p : producers) {
    p.Join();
    EXPECT_EQ(p.ExitCode(), 0);
  }
  for (int c = 0; c < 2; ++c) ASSERT_TRUE(queue.Put(kStop).ok());
  std::map<int, int> seen;
  for (int c = 0; c < 2; ++c) {
    std::vector<int> got = results.Get().value();
    // Each producer's items reach any one consumer in the order put.
    std::map<int, int> last_by_producer;
    for (int item : got) {
      ++seen[item];
      const int producer = item / 100000;
      if (last_by_producer.count(producer) != 0) {
        EXPECT_LT(last_by_producer[producer], item);
      }
      last_by_producer[producer] = item;
    }
  }
  for (Process& c : consumers) {
    c.Join();
    EXPECT_EQ(c.ExitCode(), 0);
  }
  ASSERT_EQ(seen.size(), 2u * kItemsPerProducer);
  for (const auto& [item, count] : seen) {
    EXPECT_EQ(count, 1) << "item " << item;
  }
  EXPECT_TRUE(queue.Empty());
}

TEST_F(ProcessTest, QueueGetOnAnEmptyQueueTimesOut) {
  Queue<std::string> queue;
  EXPECT_EQ(queue.GetNowait().status().code(), absl::StatusCode::kUnavailable);
  const absl::Time start = absl::Now();
  const absl::Status status = queue.Get(kShort).status();
  EXPECT_GE(absl::Now() - start, kShort);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "queue.Empty");
}

TEST_F(ProcessTest, QueueWithMaxsizeIsFullAtMaxsize) {
  Queue<int> queue({.maxsize = 2});
  ASSERT_TRUE(queue.Put(1).ok());
  ASSERT_TRUE(queue.PutNowait(2).ok());
  EXPECT_TRUE(queue.Full());
  EXPECT_EQ(queue.QSize(), 2);
  EXPECT_EQ(queue.PutNowait(3).code(), absl::StatusCode::kResourceExhausted);
  const absl::Time start = absl::Now();
  const absl::Status status = queue.Put(3, kShort);
  EXPECT_GE(absl::Now() - start, kShort);
  EXPECT_EQ(status.message(), "queue.Full");
  EXPECT_EQ(queue.Get().value(), 1);
  EXPECT_FALSE(queue.Full());
  ASSERT_TRUE(queue.PutNowait(3).ok());
  EXPECT_EQ(queue.Get().value(), 2);
  EXPECT_EQ(queue.Get().value(), 3);
  EXPECT_TRUE(queue.Empty());
}

void FillToCapacity(Queue<int> queue, Connection done) {
  for (int i = 0; i < 10; ++i) (void)queue.Put(i);
  (void)done.Send(true);
}

TEST_F(ProcessTest, ABoundedQueueMakesAProducerProcessWaitForRoom) {
  Queue<int> queue({.maxsize = 3});
  auto [parent, child] = Pipe();
  Process p(&FillToCapacity, queue, child);
  EXPECT_TRUE(p.Start().ok());
  // The producer cannot finish before the parent has taken seven items.
  for (int i = 0; i < 10; ++i) {
    if (i < 7) {
      EXPECT_FALSE(parent.Poll()) << i;
    }
    EXPECT_EQ(queue.Get().value(), i);
  }
  EXPECT_TRUE(parent.Recv<bool>().value());
  p.Join();
}

// The socket descriptors a Queue made, found as the ones that appeared.
std::vector<int> NewSockets(const std::set<int>& before) {
  std::vector<int> sockets;
  for (int fd = 0; fd < 1024; ++fd) {
    struct stat info;
    if (before.count(fd) == 0 && ::fstat(fd, &info) == 0 &&
        S_ISSOCK(info.st_mode)) {
      sockets.push_back(fd);
    }
  }
  return sockets;
}
std::set<int> OpenFds() {
  std::set<int> fds;
  for (int fd = 0; fd < 1024; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0) fds.insert(fd);
  }
  return fds;
}

void EchoSizes(Queue<std::string> in, Queue<size_t> out, int count) {
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<std::string> item = in.Get();
    if (!item.ok() || !out.Put(item->size()).ok()) std::exit(2);
  }
}

// CPython _test_multiprocessing.py (_TestQueue.test_put_get with large items):
// items of any size cross, even through a socket with Linux's default buffer
// limits (forced small here; the machines running this allow more).
TEST_F(ProcessTest, QueueItemsOfAnySizeCrossASmallSocketBuffer) {
  const std::set<int> before = OpenFds();
  Queue<std::string> in;
  const std::vector<int> sockets = NewSockets(before);
  ASSERT_EQ(sockets.size(), 2u);
  for (int fd : sockets) {
    const int small = 4096;
    ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)),
              0);
    ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)),
              0);
  }
  Queue<size_t> out;
  const std::vector<size_t> sizes = {1, 416 << 10, 2 << 20, 8 << 20};
  Process p(&EchoSizes, in, out, static_cast<int>(sizes.size()));
  EXPECT_TRUE(p.Start().ok());
  for (size_t size : sizes) ASSERT_TRUE(in.Put(std::string(size, 'q')).ok());
  for (size_t size : sizes) EXPECT_EQ(out.Get().value(), size);
  p.Join();
  EXPECT_EQ(p.ExitCode(), 0);
}

// Python's put() on an unbounded queue never blocks: with no reader at all,
// 20,000 items (more than any socket buffers) are put, then all got in order.
TEST_F(ProcessTest, PutOnAnUnboundedQueueNeverBlocks) {
  Queue<int> queue;
  constexpr int kItems = 20000;
  for (int i = 0; i < kItems; ++i) {
    ASSERT_TRUE(queue.Put(i, absl::ZeroDuration()).ok()) << i;
  }
  EXPECT_EQ(queue.QSize(), kItems);
  for (int i = 0; i < kItems; ++i) ASSERT_EQ(queue.Get().value(), i);
  EXPECT_TRUE(queue.Empty());
}

void PutManyThenExit(Queue<int> queue, int count) {
  for (int i = 0; i < count; ++i) {
    if (!queue.Put(i).ok()) std::exit(2);
  }
  std::exit(0);  // Buffered items are written out before the process ends.
}

// CPython _test_multiprocessing.py (_TestQueue.test_fork: a child's buffered
// items reach the parent after the child has exited).
TEST_F(ProcessTest, AChildsBufferedItemsArriveAfterItExits) {
  Queue<int> queue;
  constexpr int kItems = 20000;
  Process p(&PutManyThenExit, queue, kItems);
  EXPECT_TRUE(p.Start().ok());
  for (int i = 0; i < kItems; ++i) ASSERT_EQ(queue.Get().value(), i);
  p.Join();
  EXPECT_EQ(p.ExitCode(), 0);
}

// A bad frame on a Queue's socket costs only the bytes that arrive.
TEST_F(ProcessTest, AQueueFrameThatLiesIsAnErrorNotAnAllocation) {
  const std::set<int> before = OpenFds();
  Queue<std::string> queue;
  const std::vector<int> sockets = NewSockets(before);
  ASSERT_EQ(sockets.size(), 2u);
  const uint64_t claimed = uint64_t{1} << 62;
  // Whichever socket is the writing end takes the frame.
  bool written = false;
  for (int fd : sockets) {
    if (::send(fd, &claimed, sizeof(claimed), MSG_NOSIGNAL | MSG_DONTWAIT) ==
        8) {
      written = true;
      ::shutdown(fd, SHUT_WR);
    }
  }
  ASSERT_TRUE(written);
  const long before_kib = MaxResidentKiB();
  const absl::Status status = queue.Get(absl::Seconds(30)).status();
  EXPECT_FALSE(status.ok());
  EXPECT_LT(MaxResidentKiB() - before_kib, 256 << 10);
}

void ProcessAll(JoinableQueue<int> queue, Queue<int> results) {
  while (true) {
    absl::StatusOr<int> item = queue.Get();
    if (!item.ok() || *item == kStop) return;
    (void)results.Put(*item * 2);
    queue.TaskDone();
  }
}

// CPython _test_multiprocessing.py (_TestQueue.test_task_done): Join()
// returns once consumers in other processes have called TaskDone() for every
// item put.
TEST_F(ProcessTest, JoinableQueueJoinWaitsForEveryTaskDone) {
  JoinableQueue<int> queue;
  Queue<int> results;
  std::deque<Process> workers;
  for (int i = 0; i < 2; ++i) {
    workers.emplace_back(&ProcessAll, queue, results);
    EXPECT_TRUE(workers.back().Start().ok());
  }
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(queue.Put(i).ok());
  queue.Join();
  // Every item was processed: all its results are in.
  EXPECT_EQ(results.QSize(), 100);
  int sum = 0;
  for (int i = 0; i < 100; ++i) sum += results.Get().value();
  EXPECT_EQ(sum, 2 * 4950);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(queue.Put(kStop).ok());
  for (Process& w : workers) w.Join();
}

TEST_F(ProcessTest, CpuCountIsPositive) { EXPECT_GE(CpuCount(), 1); }

// Python's os.process_cpu_count(): the CPUs this process may use.
TEST_F(ProcessTest, ProcessCpuCountFollowsAffinity) {
  cpu_set_t all;
  ASSERT_EQ(::sched_getaffinity(0, sizeof(all), &all), 0);
  EXPECT_EQ(ProcessCpuCount(), CPU_COUNT(&all));
  int first = 0;
  while (!CPU_ISSET(first, &all)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(::sched_setaffinity(0, sizeof(one), &one), 0);
  EXPECT_EQ(ProcessCpuCount(), 1);
  ASSERT_EQ(::sched_setaffinity(0, sizeof(all), &all), 0);
}

}  // namespace
}  // namespace pyconc::multiprocessing
