// Value and Array: CPython's Lib/test/_test_multiprocessing.py _TestValue and
// _TestArray (test_value, test_array, test_getobj_getlock, across processes),
// on pyconc's fork server.
#include "multiprocessing/shared/sharedctypes.h"

#include <cstdint>
#include <deque>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "multiprocessing/process/process.h"
#include "sync/lock/lock.h"
#include "tests/multiprocessing/process/no_orphans.h"
#include "threading/thread/thread.h"

namespace pyconc::multiprocessing {
namespace {

using ::testing::ElementsAre;
using SharedCtypesTest = testing::NoOrphansTest;

struct Point {
  double x;
  double y;
  int32_t tag;
};

TEST_F(SharedCtypesTest, AValueReadsAndWrites) {
  Value<int32_t> number(7);
  EXPECT_EQ(number.value(), 7);
  number.set_value(-3);
  EXPECT_EQ(number.value(), -3);
  EXPECT_EQ(number.GetObj(), -3);

  Value<Point> point(Point{1.5, -2.5, 9});
  EXPECT_EQ(point.value().y, -2.5);
  point.set_value(Point{0, 4, 1});
  EXPECT_EQ(point.value().tag, 1);

  Value<double> zero;  // Python's Value('d'): zero.
  EXPECT_EQ(zero.value(), 0.0);
}

TEST_F(SharedCtypesTest, TheDefaultLockIsAnRLock) {
  Value<int64_t> counter(0);
  RLock& lock = counter.GetLock();
  sync::Guard guard(lock);
  // Reentrant: value() takes the same lock again in this thread.
  counter.set_value(counter.value() + 1);
  EXPECT_EQ(lock.RecursionCount(), 1);
  EXPECT_EQ(counter.value(), 1);
}

TEST_F(SharedCtypesTest, CopiesAreTheSameMemory) {
  Value<int32_t> original(1);
  Value<int32_t> copy = original;
  copy.set_value(2);
  EXPECT_EQ(original.value(), 2);
  copy.GetLock().Acquire();
  EXPECT_TRUE(original.GetLock().Locked());  // The same lock, too.
  copy.GetLock().Release();
}

TEST_F(SharedCtypesTest, AnArrayReadsAndWrites) {
  Array<int32_t> zeros(4);
  EXPECT_EQ(zeros.size(), 4u);
  EXPECT_THAT(zeros.ToVector(), ElementsAre(0, 0, 0, 0));
  zeros.Set(2, 5);
  EXPECT_EQ(zeros.Get(2), 5);
  EXPECT_THAT(zeros.GetObj(), ElementsAre(0, 0, 5, 0));

  Array<int32_t> listed({1, 2, 3});
  EXPECT_THAT(listed.ToVector(), ElementsAre(1, 2, 3));
  const std::vector<double> values = {0.5, 1.5};
  Array<double> copied(values, {.lock = false});
  EXPECT_THAT(copied.ToVector(), ElementsAre(0.5, 1.5));

  Array<char> empty(size_t{0});
  EXPECT_TRUE(empty.ToVector().empty());
}

// Each child adds `n` to every element and to the counter, under the locks.
void AddInChild(Value<int64_t> counter, Array<int64_t> array, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    sync::Guard guard(counter.GetLock());
    counter.set_value(counter.value() + 1);
  }
  sync::Guard guard(array.GetLock());
  for (size_t i = 0; i < array.size(); ++i) array.Set(i, array.Get(i) + n);
}

TEST_F(SharedCtypesTest, ChildrenUpdateTheSameValueAndArrayUnderTheirLocks) {
  Value<int64_t> counter(0);
  Array<int64_t> array({10, 20, 30});
  std::deque<Process> children;
  for (int p = 0; p < 4; ++p) {
    children.emplace_back(&AddInChild, counter, array, int64_t{500});
    EXPECT_TRUE(children.back().Start().ok());
  }
  // The parent takes part too, from threads.
  std::deque<threading::Thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back(&AddInChild, counter, array, int64_t{500});
    EXPECT_TRUE(threads.back().Start().ok());
  }
  for (Process& child : children) {
    child.Join();
    EXPECT_EQ(child.ExitCode(), 0);
  }
  for (threading::Thread& thread : threads) thread.Join();
  EXPECT_EQ(counter.value(), 6 * 500);
  EXPECT_THAT(array.ToVector(), ElementsAre(3010, 3020, 3030));
}

// A child that finds the parent's value, then answers through it.
void Double(Value<Point> point) {
  Point p = point.value();
  p.x *= 2;
  p.tag = 42;
  point.set_value(p);
}

TEST_F(SharedCtypesTest, AStructCrossesWithoutALock) {
  Value<Point> point(Point{1.25, 0, 0}, {.lock = false});
  Process child(&Double, point);
  EXPECT_TRUE(child.Start().ok());
  child.Join();
  EXPECT_EQ(child.ExitCode(), 0);
  EXPECT_EQ(point.value().x, 2.5);
  EXPECT_EQ(point.value().tag, 42);
}

}  // namespace
}  // namespace pyconc::multiprocessing
