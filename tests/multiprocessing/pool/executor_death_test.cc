// ProcessPoolExecutor misuse that Python answers with ValueError aborts,
// naming it.
#include <vector>

#include "gtest/gtest.h"
#include "multiprocessing/pool/executor.h"

namespace pyconc::futures {
namespace {

int Square(int x) { return x * x; }

class ExecutorDeathTest : public ::testing::Test {
 protected:
  // Each death test runs in a fresh copy of the program, so the fork server
  // and the pool's threads never meet gtest's fork.
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// CPython test_concurrent_futures/test_process_pool.py
// (test_map_chunksize): map(chunksize=0) raises ValueError.
TEST_F(ExecutorDeathTest, AChunksizeBelowOneIsMisuse) {
  EXPECT_DEATH(
      {
        ProcessPoolExecutor pool({.max_workers = 1});
        (void)pool.Map(&Square, std::vector<int>{1, 2}, {.chunksize = 0});
      },
      "ValueError: chunksize must be >= 1");
}

// CPython test_concurrent_futures/executor.py
// (test_map_buffersize_value_validation): buffersize 0 or -1 is ValueError.
TEST_F(ExecutorDeathTest, ABuffersizeBelowOneIsMisuse) {
  for (int buffersize : {0, -1}) {
    EXPECT_DEATH(
        {
          ProcessPoolExecutor pool({.max_workers = 1});
          (void)pool.Map(&Square, std::vector<int>{1},
                         {.buffersize = buffersize});
        },
        "ValueError: buffersize must be None or > 0");
  }
  EXPECT_DEATH(
      {
        ProcessPoolExecutor pool({.max_workers = 1});
        (void)pool.MapUnordered(&Square, std::vector<int>{1},
                                ProcessMapOptions{.buffersize = 1});
      },
      "ValueError: MapUnordered\\(\\) takes no buffersize");
}

TEST_F(ExecutorDeathTest, ZeroWorkersIsMisuse) {
  EXPECT_DEATH(ProcessPoolExecutor({.max_workers = 0}),
               "ValueError: max_workers must be greater than 0");
}

}  // namespace
}  // namespace pyconc::futures
