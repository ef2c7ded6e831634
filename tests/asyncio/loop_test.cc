// EventLoop behaviours ported from CPython's test_events.py and
// test_base_events.py: callback and timer ordering, handles, stop, close,
// exception reporting, thread-safe calls, readers and writers.
#include "asyncio/loop.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyconc::asyncio {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(EventLoopTest, CallSoonRunsInFifoOrder) {
  EventLoop loop;
  std::vector<int> order;
  for (int i = 0; i < 5; ++i)
    loop.CallSoon([&order, i] { order.push_back(i); });
  loop.CallSoon([&loop] { loop.Stop(); });
  loop.RunForever();
  EXPECT_THAT(order, ElementsAre(0, 1, 2, 3, 4));
}

TEST(EventLoopTest, CallbacksScheduledByCallbacksRunInTheNextIteration) {
  EventLoop loop;
  std::vector<std::string> order;
  loop.CallSoon([&] {
    order.push_back("a");
    loop.CallSoon([&] { order.push_back("c"); });
  });
  loop.CallSoon([&] { order.push_back("b"); });
  loop.RunOnce();
  EXPECT_THAT(order, ElementsAre("a", "b"));
  loop.RunOnce();
  EXPECT_THAT(order, ElementsAre("a", "b", "c"));
}

TEST(EventLoopTest, TimersRunByDeadlineThenInSchedulingOrder) {
  EventLoop loop;
  std::vector<int> order;
  const absl::Time now = loop.Time();
  loop.CallAt(now + absl::Milliseconds(30), [&] { order.push_back(3); });
  loop.CallAt(now + absl::Milliseconds(10), [&] { order.push_back(1); });
  loop.CallAt(now + absl::Milliseconds(20), [&] { order.push_back(20); });
  loop.CallAt(now + absl::Milliseconds(20), [&] { order.push_back(21); });
  loop.CallAt(now + absl::Milliseconds(40), [&] { loop.Stop(); });
  loop.RunForever();
  EXPECT_THAT(order, ElementsAre(1, 20, 21, 3));
}

TEST(EventLoopTest, CallLaterWaitsAtLeastItsDelay) {
  EventLoop loop;
  const absl::Time start = loop.Time();
  absl::Time ran;
  TimerHandle handle = loop.CallLater(absl::Milliseconds(50), [&] {
    ran = loop.Time();
    loop.Stop();
  });
  EXPECT_GE(handle.When(), start + absl::Milliseconds(50));
  loop.RunForever();
  EXPECT_GE(ran - start, absl::Milliseconds(50));
}

TEST(EventLoopTest, CancelledHandlesDoNotRun) {
  EventLoop loop;
  int ran = 0;
  Handle soon = loop.CallSoon([&] { ++ran; });
  TimerHandle later = loop.CallLater(absl::Milliseconds(1), [&] { ++ran; });
  soon.Cancel();
  later.Cancel();
  EXPECT_TRUE(soon.Cancelled());
  EXPECT_TRUE(later.Cancelled());
  loop.CallLater(absl::Milliseconds(5), [&] { loop.Stop(); });
  loop.RunForever();
  EXPECT_EQ(ran, 0);
}

TEST(EventLoopTest, StopBeforeRunForeverRunsOneIteration) {
  EventLoop loop;
  int ran = 0;
  loop.CallSoon([&] { ++ran; });
  loop.Stop();
  loop.RunForever();
  EXPECT_EQ(ran, 1);
  EXPECT_FALSE(loop.IsRunning());
}

TEST(EventLoopTest, StopFinishesTheCurrentIteration) {
  EventLoop loop;
  std::vector<int> order;
  loop.CallSoon([&] {
    order.push_back(1);
    loop.Stop();
  });
  loop.CallSoon([&] { order.push_back(2); });
  loop.RunForever();
  EXPECT_THAT(order, ElementsAre(1, 2));
  loop.CallSoon([&] { loop.Stop(); });
  loop.RunForever();  // Runs again after a stop.
}

TEST(EventLoopTest, ExceptionInCallbackGoesToTheHandler) {
  EventLoop loop;
  std::vector<std::string> messages;
  loop.SetExceptionHandler([&](EventLoop&, const ExceptionContext& context) {
    messages.push_back(context.message);
    EXPECT_NE(context.exception, nullptr);
  });
  int after = 0;
  loop.CallSoon([] { throw std::runtime_error("boom"); });
  loop.CallSoon([&] { ++after; });
  loop.CallSoon([&] { loop.Stop(); });
  loop.RunForever();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_THAT(messages[0], HasSubstr("Exception in callback"));
  EXPECT_EQ(after, 1);
}

TEST(EventLoopTest, DefaultExceptionHandlerPrintsToStderr) {
  EventLoop loop;
  testing::internal::CaptureStderr();
  loop.CallSoon([] { throw std::runtime_error("boom"); });
  loop.CallSoon([&] { loop.Stop(); });
  loop.RunForever();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("Exception in callback"));
  EXPECT_THAT(err, HasSubstr("boom"));
}

TEST(EventLoopTest, CloseIsIdempotentAndDropsPendingCallbacks) {
  int ran = 0;
  {
    EventLoop loop;
    loop.CallSoon([&] { ++ran; });
    loop.CallLater(absl::Seconds(10), [&] { ++ran; });
    EXPECT_FALSE(loop.IsClosed());
    loop.Close();
    EXPECT_TRUE(loop.IsClosed());
    loop.Close();
  }
  EXPECT_EQ(ran, 0);
}

TEST(EventLoopTest, CallSoonThreadsafeFromEightThreads) {
  EventLoop loop;
  constexpr int kThreads = 8;
  constexpr int kCalls = 2000;
  int count = 0;  // Touched only on the loop's thread.
  std::vector<std::thread> threads;
  loop.CallSoon([&] {
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kCalls; ++i) {
          loop.CallSoonThreadsafe([&] {
            if (++count == kThreads * kCalls) loop.Stop();
          });
        }
      });
    }
  });
  loop.RunForever();  // Sleeps in epoll until the threads' calls wake it.
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(count, kThreads * kCalls);
}

TEST(EventLoopTest, CallSoonThreadsafeWakesALoopWaitingOnATimer) {
  EventLoop loop;
  bool woke = false;
  loop.CallLater(absl::Seconds(60), [&] { loop.Stop(); });
  std::thread thread([&] {
    loop.CallSoonThreadsafe([&] {
      woke = true;
      loop.Stop();
    });
  });
  loop.RunForever();
  thread.join();
  EXPECT_TRUE(woke);
}

TEST(EventLoopTest, ReaderAndWriterOnASocketPair) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  EventLoop loop;
  std::string got;
  loop.AddWriter(fds[1], [&] {
    ASSERT_EQ(write(fds[1], "ping", 4), 4);
    EXPECT_TRUE(loop.RemoveWriter(fds[1]));
  });
  loop.AddReader(fds[0], [&] {
    char buffer[16];
    const ssize_t n = read(fds[0], buffer, sizeof(buffer));
    got.append(buffer, n > 0 ? n : 0);
    EXPECT_TRUE(loop.RemoveReader(fds[0]));
    loop.Stop();
  });
  loop.RunForever();
  EXPECT_EQ(got, "ping");
  EXPECT_FALSE(loop.RemoveReader(fds[0]));
  EXPECT_FALSE(loop.RemoveWriter(fds[1]));
  close(fds[0]);
  close(fds[1]);
}

TEST(EventLoopTest, RunUntilCompleteOfAFuture) {
  EventLoop loop;
  Future<int> future = loop.CreateFuture<int>();
  loop.CallLater(absl::Milliseconds(1),
                 [future]() mutable { future.SetResult(11); });
  EXPECT_EQ(loop.RunUntilComplete(future), 11);
}

TEST(EventLoopTest, GetRunningLoopInsideACoroutine) {
  EventLoop loop;
  EventLoop* seen = nullptr;
  loop.RunUntilComplete([](EventLoop** out) -> Coroutine<void> {
    *out = &GetRunningLoop();
    co_return;
  }(&seen));
  EXPECT_EQ(seen, &loop);
}

TEST(EventLoopTest, ThreadsafeHandleCancelledBeforeTheLoopRuns) {
  EventLoop loop;
  int ran = 0;
  Handle handle;
  std::thread thread([&] { handle = loop.CallSoonThreadsafe([&] { ++ran; }); });
  thread.join();
  handle.Cancel();
  loop.CallSoon([&] { loop.Stop(); });
  loop.RunForever();
  loop.CallSoon([&] { loop.Stop(); });
  loop.RunForever();  // The eventfd's wake-up arrives in one of these.
  EXPECT_EQ(ran, 0);
}

TEST(EventLoopDeathTest, StoppedBeforeTheFutureCompletedIsRuntimeError) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        Future<int> never = loop.CreateFuture<int>();
        loop.CallSoon([&] { loop.Stop(); });
        loop.RunUntilComplete(never);
      },
      "RuntimeError: Event loop stopped before Future completed.");
}

TEST(EventLoopDeathTest, RunningAClosedLoopIsRuntimeError) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        loop.Close();
        loop.RunForever();
      },
      "RuntimeError: RunForever: Event loop is closed");
}

TEST(EventLoopDeathTest, CallSoonThreadsafeOnAClosedLoopIsRuntimeError) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        loop.Close();
        loop.CallSoonThreadsafe([] {});
      },
      "RuntimeError");
}

}  // namespace
}  // namespace pyconc::asyncio
