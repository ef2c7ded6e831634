// MpiPoolExecutor: the Future behaviours of the process pool that MPI can
// express (CPython's test_concurrent_futures: results, exceptions, cancel
// before start, map order and chunksize, shutdown with cancel_futures, submit
// after shutdown), plus the MPI pool's own: named tasks and their errors.
//
// One binary for both modes: run under mpirun (mpi_test.sh) the other ranks
// are the workers (world mode); run alone, every executor spawns its own.
#include "multiprocessing/mpi/executor.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyconc::futures {
namespace {

using ::testing::HasSubstr;

int64_t Square(int64_t x) { return x * x; }
std::string Join(std::string a, std::vector<int> b) {
  for (int v : b) a += absl::StrCat(",", v);
  return a;
}
int64_t Fail(std::string message) { throw std::invalid_argument(message); }
int64_t FailOn13(int64_t x) {
  if (x == 13) throw std::out_of_range("thirteen");
  return x;
}
void Nothing(int) {}
std::string Echo(std::string bytes) { return bytes; }
int Rank() {
  int rank = -1;
  // The worker's own rank, read the way a user would (MPI is initialized).
  const char* env = std::getenv("OMPI_COMM_WORLD_RANK");
  if (env != nullptr) rank = std::atoi(env);
  return rank;
}
// Blocks until the test creates the file `path` (the gate), at most a minute;
// answers whether the gate opened.
bool WaitForGate(std::string path) {
  const absl::Time deadline = absl::Now() + absl::Minutes(1);
  while (::access(path.c_str(), F_OK) != 0) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

const auto kSquare = RegisterMpiTask("square", &Square);
const auto kJoin = RegisterMpiTask("join", &Join);
const auto kFail = RegisterMpiTask("fail", &Fail);
const auto kFailOn13 = RegisterMpiTask("fail_on_13", &FailOn13);
const auto kNothing = RegisterMpiTask("nothing", &Nothing);
const auto kEcho = RegisterMpiTask("echo", &Echo);
const auto kRank = RegisterMpiTask("rank", &Rank);
const auto kWaitForGate = RegisterMpiTask("wait_for_gate", &WaitForGate);

// Waits until the pool has sent every call of `futures` to a worker.
template <typename T>
void WaitUntilRunning(const std::vector<Future<T>>& futures) {
  for (const Future<T>& f : futures) {
    while (!f.Running() && !f.Done()) absl::SleepFor(absl::Milliseconds(1));
  }
}

// A gate file under the test's temporary folder, closed until Open().
class Gate {
 public:
  Gate() {
    const char* dir = std::getenv("TEST_TMPDIR");
    path_ = absl::StrCat(dir != nullptr ? dir : "/tmp", "/gate-", ::getpid(),
                         "-", counter_++);
    std::remove(path_.c_str());
  }
  ~Gate() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }
  void Open() {
    std::FILE* file = std::fopen(path_.c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fclose(file);
  }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

TEST(MpiPoolTest, SubmitReturnsTheResultFromAWorker) {
  MpiPoolExecutor pool;
  ASSERT_GE(pool.max_workers(), 1);
  absl::StatusOr<Future<int64_t>> square = pool.Submit(kSquare, 7);
  ASSERT_TRUE(square.ok()) << square.status();
  EXPECT_EQ(square->Result(), 49);
  absl::StatusOr<Future<std::string>> joined =
      pool.Submit(kJoin, "x", std::vector<int>{1, 2, 3});
  ASSERT_TRUE(joined.ok());
  EXPECT_EQ(joined->Result(), "x,1,2,3");
  absl::StatusOr<Future<void>> nothing = pool.Submit(kNothing, 1);
  ASSERT_TRUE(nothing.ok());
  nothing->Result();
  EXPECT_TRUE(nothing->Done());
}

TEST(MpiPoolTest, WorldModeUsesTheOtherRanks) {
  if (!MpiWorldMode()) GTEST_SKIP() << "spawn mode";
  MpiPoolExecutor pool;
  const std::vector<int> ranks = pool.WorkerRanks();
  ASSERT_EQ(static_cast<int>(ranks.size()), pool.max_workers());
  for (size_t i = 0; i < ranks.size(); ++i) {
    EXPECT_EQ(ranks[i], static_cast<int>(i) + 1);
  }
  // A call runs in one of them.
  absl::StatusOr<Future<int>> rank = pool.Submit(kRank);
  ASSERT_TRUE(rank.ok());
  EXPECT_GE(rank->Result(), 1);
  EXPECT_LE(rank->Result(), pool.max_workers());
}

TEST(MpiPoolTest, SpawnModeStartsMaxWorkers) {
  if (MpiWorldMode()) GTEST_SKIP() << "world mode";
  MpiPoolExecutor pool({.max_workers = 2});
  EXPECT_EQ(pool.max_workers(), 2);
  EXPECT_THAT(pool.WorkerRanks(), ::testing::ElementsAre(0, 1));
  EXPECT_EQ(pool.Submit(kSquare, 3)->Result(), 9);
}

// test_concurrent_futures: test_exception (the worker's exception is raised
// by result()).
TEST(MpiPoolTest, AnExceptionInAWorkerIsARemoteError) {
  MpiPoolExecutor pool;
  absl::StatusOr<Future<int64_t>> f = pool.Submit(kFail, "bad input");
  ASSERT_TRUE(f.ok());
  try {
    f->Result();
    ADD_FAILURE() << "no exception";
  } catch (const RemoteError& e) {
    EXPECT_THAT(e.what(), HasSubstr("invalid_argument"));
    EXPECT_THAT(e.what(), HasSubstr("bad input"));
  }
  // The worker goes on serving.
  EXPECT_EQ(pool.Submit(kSquare, 5)->Result(), 25);
}

// test_map (results in input order), with chunks of several sizes.
TEST(MpiPoolTest, MapKeepsInputOrderForEveryChunksize) {
  MpiPoolExecutor pool;
  std::vector<int64_t> inputs;
  for (int64_t x = 0; x < 100; ++x) inputs.push_back(x);
  for (int chunksize : {1, 7, 100, 1000}) {
    std::vector<int64_t> results;
    for (absl::StatusOr<int64_t> r :
         pool.Map(kSquare, inputs, {.chunksize = chunksize})) {
      ASSERT_TRUE(r.ok()) << r.status();
      results.push_back(*r);
    }
    ASSERT_EQ(results.size(), inputs.size()) << "chunksize " << chunksize;
    for (size_t i = 0; i < results.size(); ++i) {
      EXPECT_EQ(results[i], inputs[i] * inputs[i]);
    }
  }
}

// test_map_exception, with a chunk: the exception fails its whole chunk, and
// the range raises it at the chunk's first item.
TEST(MpiPoolTest, MapRaisesAtTheFailingChunk) {
  MpiPoolExecutor pool;
  std::vector<int64_t> inputs;
  for (int64_t x = 0; x < 30; ++x) inputs.push_back(x);
  std::vector<int64_t> seen;
  try {
    for (absl::StatusOr<int64_t> r :
         pool.Map(kFailOn13, inputs, {.chunksize = 7})) {
      seen.push_back(*r);
    }
    ADD_FAILURE() << "no exception";
  } catch (const RemoteError& e) {
    EXPECT_THAT(e.what(), HasSubstr("thirteen"));
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
}

// test_map_timeout: items not done by the deadline end the range with
// TimeoutError.
TEST(MpiPoolTest, MapTimesOutWhileTheCallsAreBlocked) {
  Gate gate;  // Outlives the pool, whose destructor waits for the calls.
  MpiPoolExecutor pool({.max_in_flight = 1});
  std::vector<std::string> paths(3, gate.path());
  std::vector<absl::Status> errors;
  int values = 0;
  for (absl::StatusOr<bool> r :
       pool.Map(kWaitForGate, paths, {.timeout = absl::Milliseconds(50)})) {
    if (r.ok()) {
      ++values;
    } else {
      errors.push_back(r.status());
    }
  }
  EXPECT_EQ(values, 0);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(IsError(errors[0], PythonError::kTimeoutError)) << errors[0];
  gate.Open();
}

// test_cancel (a Future not yet sent to a worker can be cancelled).
TEST(MpiPoolTest, CancelBeforeStart) {
  Gate gate;  // Outlives the pool, whose destructor waits for the calls.
  MpiPoolExecutor pool({.max_in_flight = 1});
  // One blocked call per worker: the next call waits in rank 0.
  std::vector<Future<bool>> blocked;
  for (int i = 0; i < pool.max_workers(); ++i) {
    blocked.push_back(*pool.Submit(kWaitForGate, gate.path()));
  }
  Future<int64_t> waiting = *pool.Submit(kSquare, 3);
  EXPECT_TRUE(waiting.Cancel());
  EXPECT_TRUE(waiting.Cancelled());
  EXPECT_THROW(waiting.Result(), CancelledError);
  gate.Open();
  for (const Future<bool>& f : blocked) EXPECT_TRUE(f.Result());
  // A running call cannot be cancelled; a finished one stays finished.
  EXPECT_FALSE(blocked[0].Cancel());
  EXPECT_EQ(pool.Submit(kSquare, 4)->Result(), 16);
}

// test_cancel_futures (shutdown(wait=False, cancel_futures=True)).
TEST(MpiPoolTest, ShutdownCancelsTheCallsNotSent) {
  Gate gate;  // Outlives the pool, whose destructor waits for the calls.
  MpiPoolExecutor pool({.max_in_flight = 1});
  std::vector<Future<bool>> blocked;
  for (int i = 0; i < pool.max_workers(); ++i) {
    blocked.push_back(*pool.Submit(kWaitForGate, gate.path()));
  }
  // Running: sent to the workers, out of cancel_futures' reach.
  WaitUntilRunning(blocked);
  std::vector<Future<int64_t>> waiting;
  for (int i = 0; i < 5; ++i) waiting.push_back(*pool.Submit(kSquare, i));
  pool.Shutdown({.wait = false, .cancel_futures = true});
  for (const Future<int64_t>& f : waiting) EXPECT_TRUE(f.Cancelled());
  absl::StatusOr<Future<int64_t>> late = pool.Submit(kSquare, 1);
  EXPECT_TRUE(IsError(late.status(), PythonError::kRuntimeError))
      << late.status();
  gate.Open();
  for (const Future<bool>& f : blocked) EXPECT_TRUE(f.Result());
}

// test_submit_after_shutdown (RuntimeError).
TEST(MpiPoolTest, SubmitAfterShutdownIsARuntimeError) {
  MpiPoolExecutor pool;
  Future<int64_t> before = *pool.Submit(kSquare, 6);
  pool.Shutdown();
  // shutdown(wait=True) returned: every call has finished.
  EXPECT_TRUE(before.Done());
  EXPECT_EQ(before.Result(), 36);
  absl::StatusOr<Future<int64_t>> after = pool.Submit(kSquare, 6);
  EXPECT_EQ(after.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(after.status().message(),
              HasSubstr("cannot schedule new futures after shutdown"));
  MapResults<int64_t> mapped = pool.Map(kSquare, std::vector<int64_t>{1, 2});
  std::optional<absl::StatusOr<int64_t>> first = mapped.Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(IsError(first->status(), PythonError::kRuntimeError));
  pool.Shutdown();  // Harmless the second time.
}

int64_t Twice(int64_t x) { return 2 * x; }

TEST(MpiPoolTest, AnUnregisteredTaskIsALookupError) {
  MpiPoolExecutor pool;
  // Registered in rank 0 only, after the workers left MpiInit(): they never
  // see it, as a Python worker cannot import a function defined in __main__
  // after it started.
  static const MpiTask<int64_t(int64_t)> late =
      RegisterMpiTask("registered_late", &Twice);
  for (const MpiTask<int64_t(int64_t)>& task :
       {late, MpiTask<int64_t(int64_t)>("no_such_task")}) {
    absl::StatusOr<Future<int64_t>> f = pool.Submit(task, 1);
    ASSERT_TRUE(f.ok());
    try {
      f->Result();
      ADD_FAILURE() << "no exception for " << task.name();
    } catch (const RemoteError& e) {
      EXPECT_THAT(e.what(), HasSubstr("LookupError: no MPI task named '" +
                                      task.name() + "'"));
    }
  }
  // A known name called with another signature.
  absl::StatusOr<Future<int64_t>> wrong =
      pool.Submit(MpiTask<int64_t(std::string)>("square"), "7");
  ASSERT_TRUE(wrong.ok());
  EXPECT_THROW(
      {
        try {
          wrong->Result();
        } catch (const RemoteError& e) {
          EXPECT_THAT(e.what(), HasSubstr("TypeError"));
          throw;
        }
      },
      RemoteError);
}

TEST(MpiPoolTest, LargeArgumentsAndResultsCross) {
  MpiPoolExecutor pool;
  std::string big(size_t{8} << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31);
  absl::StatusOr<Future<std::string>> f = pool.Submit(kEcho, big);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->Result() == big);
}

TEST(MpiPoolTest, ManyTinyCallsAllComplete) {
  MpiPoolExecutor pool;
  std::vector<Future<int64_t>> futures;
  for (int64_t x = 0; x < 2000; ++x)
    futures.push_back(*pool.Submit(kSquare, x));
  int64_t sum = 0;
  for (const Future<int64_t>& f : futures) sum += f.Result();
  EXPECT_EQ(sum, int64_t{1999} * 2000 * 3999 / 6);
}

TEST(MpiPoolTest, DoneCallbacksRunWithTheResult) {
  MpiPoolExecutor pool;
  Future<int64_t> f = *pool.Submit(kSquare, 9);
  absl::Notification called;
  int64_t seen = 0;
  f.AddDoneCallback([&](const Future<int64_t>& done) {
    seen = done.Result();
    called.Notify();
  });
  called.WaitForNotification();
  EXPECT_EQ(seen, 81);
}

}  // namespace
}  // namespace pyconc::futures

int main(int argc, char** argv) {
  // Workers serve inside MpiInit() and exit there; rank 0 runs the tests.
  pyconc::futures::MpiInit(&argc, &argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
