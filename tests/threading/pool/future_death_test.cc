// Misuse of Future and ThreadPoolExecutor fails fast, naming Python's error.
#include <exception>
#include <stdexcept>

#include "gtest/gtest.h"
#include "threading/pool/executor.h"
#include "threading/pool/future.h"

namespace pyconc::futures {
namespace {

class FutureDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(FutureDeathTest, SettingAResultTwiceIsInvalidStateError) {
  Future<int> f;
  f.SetResult(1);
  EXPECT_DEATH(f.SetResult(2),
               "InvalidStateError: set_result\\(\\) on a "
               "Future that is already done");
}

TEST_F(FutureDeathTest, SettingAnExceptionAfterAResultIsInvalidStateError) {
  Future<int> f;
  f.SetResult(1);
  EXPECT_DEATH(f.SetException(std::make_exception_ptr(std::runtime_error("x"))),
               "InvalidStateError: set_exception\\(\\)");
}

TEST_F(FutureDeathTest, SettingACancelledFutureIsInvalidStateError) {
  Future<void> f;
  f.Cancel();
  EXPECT_DEATH(f.SetResult(), "InvalidStateError: .*already cancelled");
}

TEST_F(FutureDeathTest, SetRunningTwiceIsRuntimeError) {
  Future<int> f;
  f.SetRunningOrNotifyCancel();
  EXPECT_DEATH(f.SetRunningOrNotifyCancel(),
               "RuntimeError: Future in unexpected state");
}

TEST_F(FutureDeathTest, SetRunningAfterResultIsRuntimeError) {
  Future<int> f;
  f.SetResult(1);
  EXPECT_DEATH(f.SetRunningOrNotifyCancel(),
               "RuntimeError: Future in unexpected state");
}

TEST_F(FutureDeathTest, MaxWorkersZeroIsValueError) {
  EXPECT_DEATH(ThreadPoolExecutor({.max_workers = 0}),
               "ValueError: max_workers must be greater than 0");
}

}  // namespace
}  // namespace pyconc::futures
