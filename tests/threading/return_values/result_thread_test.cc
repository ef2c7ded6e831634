#include "threading/return_values/result_thread.h"

#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyconc::threading {
namespace {

TEST(ResultThreadTest, ResultJoinsAndReturnsTheValue) {
  absl::Notification release;
  ResultThread<int> t(
      [&release](int a, int b) {
        release.WaitForNotification();
        return a * b;
      },
      6, 7);
  EXPECT_TRUE(t.Start().ok());
  EXPECT_FALSE(t.Join(absl::Milliseconds(1)));
  release.Notify();
  EXPECT_EQ(t.Result(), 42);
  EXPECT_FALSE(t.IsAlive());
  EXPECT_EQ(t.Result(), 42);  // Asking again gives the same value.
}

TEST(ResultThreadTest, ResultRethrowsWhatTheThreadThrew) {
  ResultThread<std::string> t({.name = "failing"}, []() -> std::string {
    throw std::out_of_range("nope");
  });
  EXPECT_TRUE(t.Start().ok());
  EXPECT_THROW(t.Result(), std::out_of_range);
  EXPECT_THROW(t.Result(), std::out_of_range);
}

TEST(ResultThreadTest, MoveOnlyResultsCanBeMovedOut) {
  ResultThread<std::unique_ptr<int>> t([] { return std::make_unique<int>(5); });
  EXPECT_TRUE(t.Start().ok());
  std::unique_ptr<int> p = std::move(t.Result());
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 5);
}

TEST(ResultThreadTest, VoidFunctionsReportOnlyExceptions) {
  int calls = 0;
  ResultThread<void> ok([&calls] { ++calls; });
  EXPECT_TRUE(ok.Start().ok());
  ok.Result();
  EXPECT_EQ(calls, 1);

  ResultThread<void> bad([] { throw std::logic_error("bad"); });
  EXPECT_TRUE(bad.Start().ok());
  EXPECT_THROW(bad.Result(), std::logic_error);
}

TEST(ResultThreadTest, CollectedExceptionsDoNotReachTheHook) {
  int hook_calls = 0;
  SetExceptHook([&hook_calls](const ExceptHookArgs&) { ++hook_calls; });
  {
    ResultThread<int> t([]() -> int { throw std::runtime_error("collected"); });
    EXPECT_TRUE(t.Start().ok());
    EXPECT_THROW(t.Result(), std::runtime_error);
  }
  SetExceptHook(nullptr);
  EXPECT_EQ(hook_calls, 0);
}

TEST(ResultThreadTest, UncollectedExceptionsAreReportedWithTheThreadName) {
  absl::Mutex mu;
  std::vector<std::string> reports;
  SetExceptHook([&](const ExceptHookArgs& args) {
    absl::MutexLock lock(&mu);
    reports.push_back(args.thread.name() + ": " +
                      DescribeException(args.exception));
  });
  {
    ResultThread<int> t({.name = "forgotten"},
                        []() -> int { throw std::runtime_error("lost"); });
    EXPECT_TRUE(t.Start().ok());
    t.Join();
  }
  SetExceptHook(nullptr);
  absl::MutexLock lock(&mu);
  EXPECT_THAT(reports,
              ::testing::ElementsAre("forgotten: std::runtime_error: lost"));
}

TEST(ResultThreadTest, ManyThreadsEachReturnTheirOwnValue) {
  constexpr int kThreads = 64;
  std::deque<ResultThread<int>> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([](int n) { return n * n; }, i);
    EXPECT_TRUE(threads.back().Start().ok());
  }
  for (int i = 0; i < kThreads; ++i) EXPECT_EQ(threads[i].Result(), i * i);
}

}  // namespace
}  // namespace pyconc::threading
