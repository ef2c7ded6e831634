// Future<T>: the behaviours of CPython's test_future.py.
#include "threading/pool/future.h"

#include <atomic>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/threading/pool/test_util.h"
#include "threading/thread/thread.h"

namespace pyconc::futures {
namespace {

Future<int> Finished(int value) {
  Future<int> f;
  f.SetResult(value);
  return f;
}

Future<int> Failed(const std::string& message) {
  Future<int> f;
  f.SetException(std::make_exception_ptr(std::runtime_error(message)));
  f.Exception();  // Retrieved, so it is not reported as forgotten.
  return f;
}

Future<int> Cancelled() {
  Future<int> f;
  EXPECT_TRUE(f.Cancel());
  return f;
}

Future<int> Running() {
  Future<int> f;
  EXPECT_TRUE(f.SetRunningOrNotifyCancel());
  return f;
}

using testing::HookCapture;

TEST(FutureTest, StatesReportedByQueries) {
  Future<int> pending;
  EXPECT_FALSE(pending.Done());
  EXPECT_FALSE(pending.Running());
  EXPECT_FALSE(pending.Cancelled());

  Future<int> running = Running();
  EXPECT_TRUE(running.Running());
  EXPECT_FALSE(running.Done());

  Future<int> cancelled = Cancelled();
  EXPECT_TRUE(cancelled.Cancelled());
  EXPECT_TRUE(cancelled.Done());
  EXPECT_FALSE(cancelled.Running());

  Future<int> finished = Finished(42);
  EXPECT_TRUE(finished.Done());
  EXPECT_FALSE(finished.Running());
  EXPECT_FALSE(finished.Cancelled());
}

TEST(FutureTest, CancelSucceedsOnlyWhilePending) {
  Future<int> pending;
  EXPECT_TRUE(pending.Cancel());
  EXPECT_TRUE(pending.Cancel()) << "already cancelled answers true";
  EXPECT_FALSE(Running().Cancel());
  EXPECT_FALSE(Finished(1).Cancel());
  EXPECT_FALSE(Failed("x").Cancel());
}

TEST(FutureTest, SetRunningOrNotifyCancelOnCancelledAnswersFalse) {
  Future<int> f = Cancelled();
  EXPECT_FALSE(f.SetRunningOrNotifyCancel());
  EXPECT_TRUE(f.Cancelled());
}

// A claim the test starts or stops by hand, as a process pool's worker and
// Cancel() would.
class HandHook : public internal::StartHook {
 public:
  bool TryCancel() override {
    int expected = kPending;
    return state.compare_exchange_strong(expected, kStopped) ||
           expected == kStopped;
  }
  bool Started() const override { return state.load() == kStarted; }
  bool Start() {
    int expected = kPending;
    return state.compare_exchange_strong(expected, kStarted);
  }

  static constexpr int kPending = 0, kStarted = 1, kStopped = 2;
  std::atomic<int> state{kPending};
};

TEST(FutureTest, AStartHookDecidesCancelAndRunningWhilePending) {
  auto hook = std::make_shared<HandHook>();
  Future<int> f;
  ASSERT_TRUE(f.core()->SetStartHook(hook));
  EXPECT_FALSE(f.Running());
  ASSERT_TRUE(hook->Start());  // The call starts elsewhere.
  EXPECT_TRUE(f.Running());
  EXPECT_FALSE(f.Cancel());
  EXPECT_FALSE(f.Cancelled());
  EXPECT_TRUE(f.SetRunningOrNotifyCancel());
  f.SetResult(7);
  EXPECT_FALSE(f.Running());
  EXPECT_EQ(f.Result(), 7);

  auto stopped = std::make_shared<HandHook>();
  Future<int> g;
  ASSERT_TRUE(g.core()->SetStartHook(stopped));
  EXPECT_TRUE(g.Cancel());
  EXPECT_TRUE(g.Cancelled());
  EXPECT_FALSE(stopped->Start());  // It will never start.
  EXPECT_TRUE(g.Cancel());

  Future<int> h;
  EXPECT_TRUE(h.Cancel());
  EXPECT_FALSE(h.core()->SetStartHook(std::make_shared<HandHook>()));
}

TEST(FutureTest, ResultReturnsTheValue) {
  Future<int> f = Finished(42);
  EXPECT_EQ(f.Result(), 42);
  EXPECT_EQ(f.Exception(), nullptr);
}

TEST(FutureTest, ResultOfFailedFutureRethrows) {
  Future<int> f = Failed("boom");
  EXPECT_THROW(
      {
        try {
          f.Result();
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "boom");
          throw;
        }
      },
      std::runtime_error);
  EXPECT_NE(f.Exception(), nullptr);
}

TEST(FutureTest, ResultAndExceptionOfCancelledThrowCancelledError) {
  Future<int> f = Cancelled();
  EXPECT_THROW(f.Result(), CancelledError);
  EXPECT_THROW(f.Exception(), CancelledError);
  try {
    f.Result();
  } catch (const CancelledError& e) {
    EXPECT_STREQ(e.what(), "CancelledError");
  }
}

TEST(FutureTest, WaitWithTimeoutOnPendingAnswersFalseAfterTheTimeout) {
  Future<int> f;
  const absl::Time start = absl::Now();
  EXPECT_FALSE(f.Wait(absl::Milliseconds(20)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(20));
  EXPECT_TRUE(Finished(1).Wait(absl::ZeroDuration()));
}

TEST(FutureTest, ResultWaitsForAnotherThread) {
  Future<std::string> f;
  threading::Thread setter([f] { f.SetResult("done"); });
  EXPECT_TRUE(setter.Start().ok());
  EXPECT_EQ(f.Result(), "done");
  setter.Join();
}

TEST(FutureTest, ExceptionWaitsForAnotherThread) {
  Future<int> f;
  absl::Notification waiting;
  threading::Thread setter([f, &waiting] {
    waiting.WaitForNotification();
    f.SetException(std::make_exception_ptr(std::logic_error("late")));
  });
  EXPECT_TRUE(setter.Start().ok());
  waiting.Notify();
  EXPECT_NE(f.Exception(), nullptr);
  setter.Join();
}

TEST(FutureTest, CancelWakesAWaiter) {
  Future<int> f;
  threading::Thread canceller([f] { f.Cancel(); });
  EXPECT_TRUE(canceller.Start().ok());
  EXPECT_TRUE(f.Wait(absl::InfiniteDuration()));
  EXPECT_TRUE(f.Cancelled());
  canceller.Join();
}

TEST(FutureTest, VoidFuture) {
  Future<void> f;
  EXPECT_TRUE(f.SetRunningOrNotifyCancel());
  f.SetResult();
  f.Result();
  EXPECT_TRUE(f.Done());
  EXPECT_EQ(f.Exception(), nullptr);
}

TEST(FutureTest, MoveOnlyValueIsReturnedByReference) {
  Future<std::unique_ptr<int>> f;
  f.SetResult(std::make_unique<int>(7));
  std::unique_ptr<int>& value = f.Result();
  EXPECT_EQ(*value, 7);
  EXPECT_EQ(&f.Result(), &value) << "every Result() is the same object";
}

TEST(FutureTest, CopiesShareState) {
  Future<int> a;
  Future<int> b = a;
  EXPECT_EQ(a, b);
  b.SetResult(3);
  EXPECT_EQ(a.Result(), 3);
  EXPECT_FALSE(a == Future<int>());
}

TEST(FutureTest, CallbacksRunInOrderWhenTheResultIsSet) {
  Future<int> f;
  std::vector<int> calls;
  f.AddDoneCallback([&](const Future<int>& done) {
    calls.push_back(1);
    EXPECT_EQ(done, f);
    EXPECT_EQ(done.Result(), 5);
  });
  f.AddDoneCallback([&](const Future<int>&) { calls.push_back(2); });
  f.AddDoneCallback([&](const Future<int>&) { calls.push_back(3); });
  EXPECT_TRUE(calls.empty());
  f.SetResult(5);
  EXPECT_EQ(calls, (std::vector<int>{1, 2, 3}));
}

TEST(FutureTest, CallbackAddedAfterDoneRunsAtOnce) {
  Future<int> f = Finished(5);
  bool called = false;
  f.AddDoneCallback([&](const Future<int>& done) {
    called = true;
    EXPECT_EQ(done.Result(), 5);
  });
  EXPECT_TRUE(called);
}

TEST(FutureTest, CallbackRunsOnCancel) {
  Future<int> f;
  bool saw_cancelled = false;
  f.AddDoneCallback(
      [&](const Future<int>& done) { saw_cancelled = done.Cancelled(); });
  EXPECT_TRUE(f.Cancel());
  EXPECT_TRUE(saw_cancelled);
}

TEST(FutureTest, CallbackRunsOnException) {
  Future<int> f;
  bool saw_exception = false;
  f.AddDoneCallback([&](const Future<int>& done) {
    saw_exception = done.Exception() != nullptr;
  });
  f.SetException(std::make_exception_ptr(std::runtime_error("x")));
  EXPECT_TRUE(saw_exception);
}

TEST(FutureTest, RaisingCallbackIsReportedAndLaterCallbacksRun) {
  HookCapture hook;
  Future<int> f;
  bool second_ran = false;
  f.AddDoneCallback(
      [](const Future<int>&) { throw std::runtime_error("doing stuff"); });
  f.AddDoneCallback([&](const Future<int>&) { second_ran = true; });
  f.SetResult(1);
  EXPECT_TRUE(second_ran);
  ASSERT_EQ(hook.reports().size(), 1u);
  EXPECT_EQ(hook.reports()[0], "std::runtime_error: doing stuff");
}

TEST(FutureTest, RaisingCallbackAddedAfterDoneIsReported) {
  HookCapture hook;
  Future<int> f = Finished(1);
  f.AddDoneCallback(
      [](const Future<int>&) { throw std::runtime_error("late"); });
  ASSERT_EQ(hook.reports().size(), 1u);
}

TEST(FutureTest, CallbackRunsInTheCompletingThread) {
  Future<int> f;
  std::atomic<uint64_t> callback_thread{0};
  f.AddDoneCallback(
      [&](const Future<int>&) { callback_thread = threading::GetIdent(); });
  uint64_t setter_ident = 0;
  threading::Thread setter([&] {
    setter_ident = threading::GetIdent();
    f.SetResult(1);
  });
  EXPECT_TRUE(setter.Start().ok());
  setter.Join();
  EXPECT_EQ(callback_thread.load(), setter_ident);
}

TEST(FutureTest, CallbackMayDropTheLastOtherHandle) {
  auto holder = std::make_unique<Future<int>>();
  Future<int> f = *holder;
  holder->AddDoneCallback([&holder](const Future<int>&) { holder.reset(); });
  f.SetResult(1);
  EXPECT_EQ(holder, nullptr);
  EXPECT_EQ(f.Result(), 1);
}

TEST(FutureTest, ExceptionNobodyRetrievedIsReported) {
  ::testing::internal::CaptureStderr();
  {
    Future<int> f;
    f.SetException(std::make_exception_ptr(std::runtime_error("lost")));
  }
  EXPECT_THAT(::testing::internal::GetCapturedStderr(),
              ::testing::HasSubstr("Future exception was never retrieved: "
                                   "std::runtime_error: lost"));
}

std::string* sink_received = nullptr;

// A never-retrieved exception goes through //base:report's sink, in one
// report, not straight to stderr.
TEST(FutureTest, ExceptionNobodyRetrievedGoesToTheReportSink) {
  std::string received;
  sink_received = &received;
  const ReportSink previous = SetReportSink(
      [](absl::string_view text) { sink_received->append(text); });
  {
    Future<int> f;
    f.SetException(std::make_exception_ptr(std::runtime_error("lost")));
  }
  SetReportSink(previous);
  sink_received = nullptr;
  EXPECT_EQ(received,
            "pyconc: Future exception was never retrieved: "
            "std::runtime_error: lost\n");
}

TEST(FutureTest, RetrievedExceptionIsNotReported) {
  ::testing::internal::CaptureStderr();
  {
    Future<int> f;
    f.SetException(std::make_exception_ptr(std::runtime_error("seen")));
    EXPECT_NE(f.Exception(), nullptr);
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(FutureTest, ManyWaitersWakeOnOneResult) {
  Future<int> f;
  std::atomic<int> woken{0};
  std::vector<std::unique_ptr<threading::Thread>> waiters;
  for (int i = 0; i < 8; ++i) {
    waiters.push_back(std::make_unique<threading::Thread>([f, &woken] {
      if (f.Result() == 9) ++woken;
    }));
    EXPECT_TRUE(waiters.back()->Start().ok());
  }
  f.SetResult(9);
  for (auto& waiter : waiters) waiter->Join();
  EXPECT_EQ(woken.load(), 8);
}

}  // namespace
}  // namespace pyconc::futures
