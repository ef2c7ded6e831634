// Misuse that Python answers with an exception aborts, naming it.
#include <thread>
#include <utility>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "multiprocessing/process/connection.h"
#include "multiprocessing/process/process.h"
#include "multiprocessing/process/queue.h"

namespace pyconc::multiprocessing {
namespace {

void ReturnAtOnce() {}

class ProcessDeathTest : public ::testing::Test {
 protected:
  // Each death test runs in a fresh copy of the program, so the fork server
  // and its reader thread never meet gtest's fork.
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(ProcessDeathTest, StartingTheForkServerOnceThreadsRunIsMisuse) {
  EXPECT_DEATH(
      {
        absl::Notification done;
        std::thread thread([&] { done.WaitForNotification(); });
        Process p(&ReturnAtOnce);
        EXPECT_TRUE(p.Start().ok());
      },
      "RuntimeError: the multiprocessing fork server must start while the "
      "program has one thread");
}

TEST_F(ProcessDeathTest, StartingTwiceIsMisuse) {
  EXPECT_DEATH(
      {
        Process p(&ReturnAtOnce);
        EXPECT_TRUE(p.Start().ok());
        EXPECT_TRUE(p.Start().ok());
      },
      "RuntimeError: cannot start a process twice");
}

TEST_F(ProcessDeathTest, JoiningAnUnstartedProcessIsMisuse) {
  EXPECT_DEATH(Process(&ReturnAtOnce).Join(),
               "AssertionError: can only join a started process");
}

TEST_F(ProcessDeathTest, UsingAClosedProcessIsMisuse) {
  EXPECT_DEATH(
      {
        Process p(&ReturnAtOnce);
        p.Close();
        EXPECT_TRUE(p.Start().ok());
      },
      "ValueError: process object is closed");
}

TEST_F(ProcessDeathTest, SendingOnTheReadEndOfAOneWayPipeIsMisuse) {
  EXPECT_DEATH(
      {
        auto ends = Pipe(/*duplex=*/false);
        (void)ends.first.Send(1);
      },
      "OSError: connection is read-only");
}

TEST_F(ProcessDeathTest, UsingAClosedQueueIsMisuse) {
  EXPECT_DEATH(
      {
        Queue<int> queue;
        queue.Close();
        (void)queue.Put(1);
      },
      "ValueError: Queue is closed");
}

TEST_F(ProcessDeathTest, TaskDoneMoreOftenThanPutIsMisuse) {
  EXPECT_DEATH(
      {
        JoinableQueue<int> queue;
        (void)queue.Put(1);
        queue.TaskDone();
        queue.TaskDone();
      },
      "ValueError: task_done\\(\\) called too many times");
}

}  // namespace
}  // namespace pyconc::multiprocessing
