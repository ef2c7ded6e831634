// ThreadPoolExecutor::Map over several ranges, with Python 3.14's buffersize,
// and MapUnordered. Ported from CPython's test_concurrent_futures/executor.py
// (ExecutorTest.test_map, test_map_buffersize*), each named below.

#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "base/errors.h"
#include "gtest/gtest.h"
#include "tests/testing/count.h"
#include "tests/testing/map_checks.h"
#include "threading/pool/executor.h"

namespace pyconc::futures {
namespace {

using ::pyconc::testing::Collect;
using ::pyconc::testing::Count;

int Pow(int x, int y) { return static_cast<int>(std::pow(x, y)); }
int Add(int x, int y) { return x + y; }
std::string Str(int x) { return std::to_string(x); }

// test_map: map(pow, range(10), range(10)), as the built-in map().
TEST(MapTest, SeveralRangesInLockstep) {
  ThreadPoolExecutor pool({.max_workers = 2});
  std::vector<int> expected;
  for (int i = 0; i < 10; ++i) expected.push_back(Pow(i, i));
  EXPECT_EQ(Collect(pool.Map(&Pow, Count(0, 10), Count(0, 10))), expected);
  // zip() ends with the shortest range.
  const std::vector<int> bases = {1, 2, 3};
  EXPECT_EQ(Collect(pool.Map(&Add, bases, Count(10))),
            (std::vector<int>{11, 13, 15}));
  EXPECT_EQ(Collect(pool.Map(&Add, bases, std::vector<int>{},
                             MapOptions{.timeout = absl::Seconds(60)})),
            std::vector<int>{});
}

// test_map_buffersize and test_map_buffersize_on_multiple_iterables.
TEST(MapTest, BuffersizeKeepsResultsAndOrder) {
  ThreadPoolExecutor pool({.max_workers = 2});
  for (int buffersize : {1, 2, 4, 8}) {
    EXPECT_EQ(Collect(pool.Map(&Str, Count(0, 4), {.buffersize = buffersize})),
              (std::vector<std::string>{"0", "1", "2", "3"}));
    EXPECT_EQ(Collect(pool.Map(&Add, Count(0, 4), Count(0, 4),
                               MapOptions{.buffersize = buffersize})),
              (std::vector<int>{0, 2, 4, 6}));
  }
}

// test_map_buffersize_on_infinite_iterable and
// test_map_buffersize_on_multiple_infinite_iterables.
TEST(MapTest, BuffersizeMakesAnEndlessInputWork) {
  ThreadPoolExecutor pool({.max_workers = 2});
  {
    auto results = pool.Map(&Str, Count(0), {.buffersize = 2});
    auto it = results.begin();
    EXPECT_EQ(**it, "0");
    EXPECT_EQ(**++it, "1");
    EXPECT_EQ(**++it, "2");
  }  // The calls submitted ahead are cancelled.
  auto results =
      pool.Map(&Add, Count(0), Count(0), MapOptions{.buffersize = 2});
  auto it = results.begin();
  EXPECT_EQ(**it, 0);
  EXPECT_EQ(**++it, 2);
  EXPECT_EQ(**++it, 4);
}

// test_map_buffersize_on_empty_iterable.
TEST(MapTest, BuffersizeOnAnEmptyInput) {
  ThreadPoolExecutor pool({.max_workers = 1});
  auto results = pool.Map(&Str, std::vector<int>{}, {.buffersize = 2});
  EXPECT_EQ(results.begin(), results.end());
}

// test_map_buffersize_when_buffer_is_full: Map() takes only `buffersize`
// inputs; each step of the range takes one more before it waits.
TEST(MapTest, BuffersizeBoundsTheInputsTaken) {
  ThreadPoolExecutor pool({.max_workers = 1});
  std::atomic<int> taken{0};
  auto counted = Count(0, 4).OnRead([&taken] { taken.fetch_add(1); });
  auto results = pool.Map(&Str, counted, {.buffersize = 2});
  EXPECT_EQ(taken.load(), 2);
  auto it = results.begin();
  EXPECT_EQ(taken.load(), 3);
  EXPECT_EQ(**it, "0");
  std::vector<std::string> rest;
  for (++it; it != results.end(); ++it) rest.push_back(**it);
  EXPECT_EQ(rest, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(taken.load(), 4);
}

TEST(MapTest, BuffersizeAnswersARefusedSubmitInTheRange) {
  ThreadPoolExecutor pool({.max_workers = 1});
  auto results = pool.Map(&Str, Count(0), {.buffersize = 1});
  auto it = results.begin();  // Submits the second call, yields the first.
  EXPECT_EQ(**it, "0");
  pool.Shutdown({.wait = false});
  ++it;  // The third call is refused, as Python's submit() raises.
  const absl::StatusOr<std::string>& refused = *it;
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(IsError(refused.status(), PythonError::kRuntimeError))
      << refused.status();
  EXPECT_EQ(++it, results.end());
}

TEST(MapTest, MapUnorderedYieldsInCompletionOrder) {
  ThreadPoolExecutor pool({.max_workers = 2});
  absl::Notification release;
  auto results = pool.MapUnordered(
      [&release](int x) {
        if (x == 0) release.WaitForNotification();
        return x;
      },
      std::vector<int>{0, 1});
  std::vector<int> order;
  for (absl::StatusOr<int>& result : results) {
    order.push_back(*result);
    // The first to finish is 1, which did not wait; now 0 may.
    if (order.size() == 1) release.Notify();
  }
  EXPECT_EQ(order, (std::vector<int>{1, 0}));
}

TEST(MapDeathTest, BuffersizeBelowOneIsValueError) {
  // test_map_buffersize_value_validation.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ThreadPoolExecutor pool({.max_workers = 1});
  for (int buffersize : {0, -1}) {
    EXPECT_DEATH(
        (void)pool.Map(&Str, std::vector<int>{1}, {.buffersize = buffersize}),
        "ValueError: buffersize must be None or > 0");
  }
  EXPECT_DEATH((void)pool.MapUnordered(&Str, std::vector<int>{1},
                                       MapOptions{.buffersize = 1}),
               "ValueError: MapUnordered\\(\\) takes no buffersize");
}

#if PYCONC_TEST_STD_VIEWS
TEST(MapTest, TakesStdViews) {
  ThreadPoolExecutor pool({.max_workers = 2});
  testing::ExpectMapTakesStdViews(pool, &Add, &Str);
}
#endif

}  // namespace
}  // namespace pyconc::futures
