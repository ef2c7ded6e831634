// Misuse that Python answers with RuntimeError fails fast, naming the error.
#include <stop_token>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "threading/thread/thread.h"

namespace pyconc::threading {
namespace {

class ThreadDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(ThreadDeathTest, StartingTwiceIsRuntimeError) {
  Thread t([] {});
  EXPECT_TRUE(t.Start().ok());
  t.Join();
  EXPECT_DEATH((void)t.Start(),
               "RuntimeError: threads can only be started once");
}

TEST_F(ThreadDeathTest, JoiningAnUnstartedThreadIsRuntimeError) {
  Thread t([] {});
  EXPECT_DEATH(t.Join(),
               "RuntimeError: cannot join thread before it is started");
}

TEST_F(ThreadDeathTest, JoiningTheCurrentThreadIsRuntimeError) {
  EXPECT_DEATH(CurrentThread().Join(),
               "RuntimeError: cannot join current thread");
}

TEST_F(ThreadDeathTest, SettingDaemonAfterStartIsRuntimeError) {
  Thread t([] {});
  EXPECT_TRUE(t.Start().ok());
  t.Join();
  EXPECT_DEATH(t.set_daemon(true), "RuntimeError: cannot set daemon status");
}

// The waiter's Notifications live outside the object, so that destroying it
// touches nothing the running thread uses before ~Thread notices the misuse;
// `entered` orders the thread's virtual call to Run() before the destruction,
// as ThreadSanitizer needs.
absl::Notification entered;
absl::Notification never_notified;

class Waiter : public Thread {
 public:
  Waiter() : Thread({.name = "waiter"}) {}

 protected:
  void Run() override {
    entered.Notify();
    never_notified.WaitForNotification();
  }
};

TEST_F(ThreadDeathTest, DestroyingARunningSubclassIsRuntimeError) {
  EXPECT_DEATH(
      {
        Waiter waiter;
        EXPECT_TRUE(waiter.Start().ok());
        entered.WaitForNotification();
      },
      "RuntimeError: Thread subclass 'waiter' destroyed while running");
}

}  // namespace
}  // namespace pyconc::threading
