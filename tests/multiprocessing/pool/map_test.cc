// ProcessPoolExecutor::Map over several ranges, with Python 3.14's buffersize
// (counted in chunks), and MapUnordered (Python's Pool.imap_unordered). Ported
// from CPython's test_concurrent_futures/executor.py (test_map,
// test_map_buffersize*) and _test_multiprocessing.py (_TestPool.
// test_imap_unordered), each named below.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "multiprocessing/pool/executor.h"
#include "tests/multiprocessing/process/no_orphans.h"
#include "tests/testing/count.h"
#include "tests/testing/map_checks.h"

namespace pyconc::futures {
namespace {

using ::pyconc::testing::Collect;
using ::pyconc::testing::Count;

using MapTest = multiprocessing::testing::NoOrphansTest;

int Pow(int x, int y) {
  int result = 1;
  for (int i = 0; i < y; ++i) result *= x;
  return result;
}
int Add(int x, int y) { return x + y; }
int Square(int x) { return x * x; }
std::string Str(int x) { return std::to_string(x); }

// Opens `fifo` (blocking until the test opens its other end) and reads one
// byte: a call that finishes when the test says so. "" returns at once.
int WaitOnFifo(std::string fifo) {
  if (fifo.empty()) return 0;
  const int fd = ::open(fifo.c_str(), O_RDONLY);
  char byte = 0;
  if (fd < 0 || ::read(fd, &byte, 1) != 1) std::abort();
  ::close(fd);
  return 1;
}

// test_map: map(pow, range(10), range(10)), also with chunksize=3.
TEST_F(MapTest, SeveralRangesInLockstep) {
  ProcessPoolExecutor pool({.max_workers = 2});
  std::vector<int> expected;
  for (int i = 0; i < 10; ++i) expected.push_back(Pow(i, i));
  EXPECT_EQ(Collect(pool.Map(&Pow, Count(0, 10), Count(0, 10))), expected);
  EXPECT_EQ(Collect(pool.Map(&Pow, Count(0, 10), Count(0, 10),
                             ProcessMapOptions{.chunksize = 3})),
            expected);
  const std::vector<int> bases = {1, 2, 3};
  EXPECT_EQ(Collect(pool.Map(&Add, bases, Count(10),
                             ProcessMapOptions{.chunksize = 2})),
            (std::vector<int>{11, 13, 15}));
}

// test_map_buffersize and test_map_buffersize_on_multiple_iterables, with
// chunks too.
TEST_F(MapTest, BuffersizeKeepsResultsAndOrder) {
  ProcessPoolExecutor pool({.max_workers = 2});
  for (int buffersize : {1, 2, 4, 8}) {
    for (int chunksize : {1, 3}) {
      EXPECT_EQ(
          Collect(pool.Map(&Str, Count(0, 4),
                           {.chunksize = chunksize, .buffersize = buffersize})),
          (std::vector<std::string>{"0", "1", "2", "3"}));
      EXPECT_EQ(Collect(pool.Map(&Add, Count(0, 4), Count(0, 4),
                                 ProcessMapOptions{.chunksize = chunksize,
                                                   .buffersize = buffersize})),
                (std::vector<int>{0, 2, 4, 6}));
    }
  }
}

// test_map_buffersize_on_infinite_iterable and
// test_map_buffersize_on_multiple_infinite_iterables.
TEST_F(MapTest, BuffersizeMakesAnEndlessInputWork) {
  ProcessPoolExecutor pool({.max_workers = 2});
  {
    auto results = pool.Map(&Str, Count(0), {.buffersize = 2});
    auto it = results.begin();
    EXPECT_EQ(**it, "0");
    EXPECT_EQ(**++it, "1");
    EXPECT_EQ(**++it, "2");
  }
  auto results = pool.Map(&Add, Count(0), Count(0),
                          ProcessMapOptions{.chunksize = 2, .buffersize = 2});
  auto it = results.begin();
  EXPECT_EQ(**it, 0);
  EXPECT_EQ(**++it, 2);
  EXPECT_EQ(**++it, 4);
}

// test_map_buffersize_on_empty_iterable.
TEST_F(MapTest, BuffersizeOnAnEmptyInput) {
  ProcessPoolExecutor pool({.max_workers = 1});
  auto results = pool.Map(&Str, std::vector<int>{}, {.buffersize = 2});
  EXPECT_EQ(results.begin(), results.end());
}

// test_map_buffersize_when_buffer_is_full: Map() takes only `buffersize`
// chunks of inputs; starting a chunk takes one chunk more.
TEST_F(MapTest, BuffersizeBoundsTheInputsTaken) {
  ProcessPoolExecutor pool({.max_workers = 1});
  int taken = 0;  // Read only on this thread, which runs the range.
  auto counted = Count(0, 8).OnRead([&taken] { ++taken; });
  auto results = pool.Map(&Str, counted, {.chunksize = 2, .buffersize = 2});
  EXPECT_EQ(taken, 4);
  auto it = results.begin();
  EXPECT_EQ(taken, 6);
  EXPECT_EQ(**it, "0");
  EXPECT_EQ(**++it, "1");
  EXPECT_EQ(taken, 6);
  EXPECT_EQ(**++it, "2");  // The second chunk starts: the fourth is taken.
  EXPECT_EQ(taken, 8);
}

// _TestPool.test_imap_unordered: every result once, in some order, also with
// chunks.
TEST_F(MapTest, MapUnorderedYieldsEveryResult) {
  ProcessPoolExecutor pool({.max_workers = 2});
  std::vector<int> expected;
  for (int i = 0; i < 1000; ++i) expected.push_back(Square(i));
  for (int chunksize : {1, 20}) {
    std::vector<int> got = Collect(pool.MapUnordered(
        &Square, Count(0, 1000), ProcessMapOptions{.chunksize = chunksize}));
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, expected);
  }
}

// A finished chunk is not held back by a slow one before it (Map() would
// wait for the first).
TEST_F(MapTest, MapUnorderedYieldsInCompletionOrder) {
  const std::string fifo = std::string(std::getenv("TEST_TMPDIR")) + "/gate";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ProcessPoolExecutor pool({.max_workers = 2});
  std::vector<int> order;
  for (absl::StatusOr<int>& result :
       pool.MapUnordered(&WaitOnFifo, std::vector<std::string>{fifo, ""})) {
    order.push_back(*result);
    if (order.size() == 1) {
      // The quick call came first; now let the slow one finish.
      const int fd = ::open(fifo.c_str(), O_WRONLY);
      ASSERT_GE(fd, 0);
      ASSERT_EQ(::write(fd, "x", 1), 1);
      ::close(fd);
    }
  }
  EXPECT_EQ(order, (std::vector<int>{0, 1}));
  ::unlink(fifo.c_str());
}

#if PYCONC_TEST_STD_VIEWS
TEST_F(MapTest, TakesStdViews) {
  ProcessPoolExecutor pool({.max_workers = 2});
  testing::ExpectMapTakesStdViews(pool, &Add, &Str);
}
#endif

}  // namespace
}  // namespace pyconc::futures
