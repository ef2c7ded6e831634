// Stopping a thread: both ways end a worker that waits a long time between
// steps, at once. (A wait of an hour that the stop did not cut short would time
// the test out.)

#include "sync/stop/stop.h"

#include <atomic>
#include <stop_token>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "sync/event/event.h"
#include "tests/sync/testing/bunch.h"
#include "threading/thread/thread.h"

namespace pyconc::sync {
namespace {

using testing::Bunch;
using testing::ExpectTimesOut;

constexpr absl::Duration kLongStep = absl::Hours(1);

TEST(WaitForStopTest, ReturnsAtOnceWhenAlreadyStopped) {
  std::stop_source source;
  source.request_stop();
  EXPECT_TRUE(WaitForStop(source.get_token(), kLongStep));
}

TEST(WaitForStopTest, TimesOutWithoutAStop) {
  std::stop_source source;
  ExpectTimesOut(absl::Milliseconds(20), [&](absl::Duration t) {
    return WaitForStop(source.get_token(), t);
  });
  ExpectTimesOut(absl::Milliseconds(20), [](absl::Duration t) {
    return WaitForStop(std::stop_token(), t);  // A token nobody can stop.
  });
}

TEST(WaitForStopTest, ThreadRequestStopEndsTheWorkerLoop) {
  std::atomic<int> steps{0};
  threading::Thread worker([&](std::stop_token token) {
    do {
      steps.fetch_add(1);
    } while (!WaitForStop(token, kLongStep));
  });
  EXPECT_TRUE(worker.Start().ok());
  EXPECT_TRUE(worker.RequestStop());
  worker.Join();
  EXPECT_GE(steps.load(), 1);
  EXPECT_FALSE(worker.RequestStop());
}

TEST(WaitForStopTest, EventEndsTheWorkerLoop) {
  Event stop;
  threading::Thread worker([&] {
    while (!stop.Wait(kLongStep)) {
    }
  });
  EXPECT_TRUE(worker.Start().ok());
  stop.Set();
  worker.Join();
}

TEST(WaitForStopTest, OneRequestStopsManyWaiters) {
  constexpr int kThreads = 12;
  std::stop_source source;
  std::atomic<int> stopped{0};
  {
    Bunch bunch(kThreads, [&](int) {
      if (WaitForStop(source.get_token())) stopped.fetch_add(1);
    });
    source.request_stop();
  }
  EXPECT_EQ(stopped.load(), kThreads);
}

TEST(WaitForStopDeathTest, NegativeTimeoutIsValueError) {
  testing::UseThreadsafeDeathTests();
  std::stop_source source;
  EXPECT_DEATH(WaitForStop(source.get_token(), absl::Seconds(-1)),
               "ValueError");
}

}  // namespace
}  // namespace pyconc::sync
