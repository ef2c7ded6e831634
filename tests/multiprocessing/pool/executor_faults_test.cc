// ProcessPoolExecutor under faults: workers that _exit, abort or crash in the
// middle of calls, and pools made and destroyed by the hundred. Every Future
// ends (a result or BrokenProcessPool), nothing hangs, and no descriptor or
// child process is left behind. (CPython's
// test_concurrent_futures/test_deadlock.py, ExecutorDeadlockTest, crashes
// workers the same ways.)
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "multiprocessing/pool/executor.h"
#include "tests/multiprocessing/process/no_orphans.h"

namespace pyconc::futures {
namespace {

using ::testing::HasSubstr;
using ExecutorFaultsTest = multiprocessing::testing::NoOrphansTest;

int Square(int x) { return x * x; }
int ExitThree() { ::_exit(3); }
int Abort() { std::abort(); }
// Every 100th call crashes its worker with a segmentation fault.
int SegfaultEvery100th(int i) {
  if (i % 100 == 99) ::raise(SIGSEGV);
  return i;
}

int OpenDescriptors() {
  int count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count;
}

// What the message of a broken pool's Future says, or "" for a result.
template <typename T>
std::string BrokenMessage(const Future<T>& future) {
  try {
    future.Result();
  } catch (const BrokenProcessPool& e) {
    return e.what();
  }
  return "";
}

TEST_F(ExecutorFaultsTest, AWorkerThatExitsMidCallBreaksThePoolWithItsCode) {
  ProcessPoolExecutor pool({.max_workers = 2});
  Future<int> exits = *pool.Submit(&ExitThree);
  const std::string message = BrokenMessage(exits);
  EXPECT_THAT(message, HasSubstr("terminated abruptly"));
  EXPECT_THAT(message, HasSubstr("exit code 3"));
  EXPECT_FALSE(pool.Submit(&Square, 1).ok());
}

TEST_F(ExecutorFaultsTest, AWorkerThatAbortsBreaksThePool) {
  ProcessPoolExecutor pool({.max_workers = 2});
  std::vector<Future<int>> futures;
  for (int i = 0; i < 20; ++i) futures.push_back(*pool.Submit(&Square, i));
  Future<int> aborts = *pool.Submit(&Abort);
  EXPECT_THAT(BrokenMessage(aborts), HasSubstr("terminated abruptly"));
  for (int i = 0; i < 20; ++i) {
    // Each call either finished or failed with the pool; none hangs.
    const std::string message = BrokenMessage(futures[i]);
    if (message.empty()) {
      EXPECT_EQ(futures[i].Result(), i * i);
    }
  }
}

TEST_F(ExecutorFaultsTest, ASegfaultEveryHundredthCallNeverHangsOrLeaks) {
  const int descriptors = OpenDescriptors();
  int results = 0;
  for (int round = 0; round < 3; ++round) {
    ProcessPoolExecutor pool({.max_workers = 2});
    std::vector<Future<int>> futures;
    for (int i = 0; i < 300; ++i) {
      absl::StatusOr<Future<int>> f = pool.Submit(&SegfaultEvery100th, i);
      if (!f.ok()) {
        EXPECT_THAT(f.status().message(), HasSubstr("BrokenProcessPool"));
        break;
      }
      futures.push_back(*f);
    }
    for (size_t i = 0; i < futures.size(); ++i) {
      const std::string message = BrokenMessage(futures[i]);
      if (message.empty()) {
        EXPECT_EQ(futures[i].Result(), static_cast<int>(i));
        ++results;
      } else {
        EXPECT_THAT(message, HasSubstr("terminated abruptly"));
      }
    }
    EXPECT_FALSE(
        BrokenMessage(futures[std::min<size_t>(99, futures.size() - 1)])
            .empty());
  }
  EXPECT_GT(results, 0);
  EXPECT_EQ(OpenDescriptors(), descriptors);
}

TEST_F(ExecutorFaultsTest, TwoHundredPoolsLeaveNoDescriptorOrChild) {
  const int descriptors = OpenDescriptors();
  for (int i = 0; i < 200; ++i) {
    ProcessPoolExecutor pool({.max_workers = 1});
    if (i % 2 == 0) {
      EXPECT_EQ(pool.Submit(&Square, i)->Result(), i * i);
    }
  }
  EXPECT_EQ(OpenDescriptors(), descriptors);
  // NoOrphansTest's TearDown checks that no worker is left, zombie or not.
}

}  // namespace
}  // namespace pyconc::futures
