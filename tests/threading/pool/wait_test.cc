// Wait() and AsCompleted(): the behaviours of CPython's test_wait.py and
// test_as_completed.py, on Futures completed by hand and by a pool.
#include "threading/pool/wait.h"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/threading/pool/test_util.h"
#include "threading/pool/executor.h"
#include "threading/pool/future.h"

namespace pyconc::futures {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

Future<int> Succeeded(int value) {
  Future<int> f;
  f.SetResult(value);
  return f;
}

Future<int> Raised() {
  Future<int> f;
  f.SetException(std::make_exception_ptr(std::runtime_error("error")));
  f.Exception();
  return f;
}

Future<int> CancelledFuture() {
  Future<int> f;
  f.Cancel();
  return f;
}

Future<int> RunningFuture() {
  Future<int> f;
  f.SetRunningOrNotifyCancel();
  return f;
}

using testing::Gate;
using testing::SubmitGated;

TEST(WaitTest, FirstCompletedReturnsTheDoneOnes) {
  Future<int> pending;
  Future<int> done = Succeeded(1);
  Future<int> cancelled = CancelledFuture();
  DoneAndNotDone<int> result =
      Wait(std::vector<Future<int>>{pending, done, cancelled},
           {.return_when = ReturnWhen::kFirstCompleted});
  EXPECT_THAT(result.done, ElementsAre(done, cancelled));
  EXPECT_THAT(result.not_done, ElementsAre(pending));
}

TEST(WaitTest, FirstCompletedWakesOnACompletionInAnotherThread) {
  Gate gate;
  ThreadPoolExecutor pool({.max_workers = 2});
  Future<int> quick = *pool.Submit([] { return 1; });
  Future<int> slow = SubmitGated(pool, gate, 2);
  DoneAndNotDone<int> result =
      Wait(std::vector<Future<int>>{slow, quick},
           {.return_when = ReturnWhen::kFirstCompleted});
  EXPECT_THAT(result.done, ElementsAre(quick));
  EXPECT_THAT(result.not_done, ElementsAre(slow));
  gate.release.Notify();
}

TEST(WaitTest, FirstExceptionStopsAtAnException) {
  Gate gate;
  ThreadPoolExecutor pool({.max_workers = 2});
  Future<int> slow = SubmitGated(pool, gate, 1);
  Future<int> raising =
      *pool.Submit([]() -> int { throw std::runtime_error("x"); });
  DoneAndNotDone<int> result =
      Wait(std::vector<Future<int>>{slow, raising},
           {.return_when = ReturnWhen::kFirstException});
  EXPECT_THAT(result.done, ElementsAre(raising));
  EXPECT_THAT(result.not_done, ElementsAre(slow));
  EXPECT_NE(raising.Exception(), nullptr);
  gate.release.Notify();
}

TEST(WaitTest, FirstExceptionWithAnAlreadyFailedFutureReturnsAtOnce) {
  Future<int> pending;
  Future<int> raised = Raised();
  DoneAndNotDone<int> result =
      Wait(std::vector<Future<int>>{Succeeded(1), raised, pending},
           {.return_when = ReturnWhen::kFirstException});
  EXPECT_EQ(result.done.size(), 2u);
  EXPECT_THAT(result.not_done, ElementsAre(pending));
}

TEST(WaitTest, FirstExceptionIgnoresCancelledAndWaitsForAll) {
  Future<int> cancelled = CancelledFuture();
  Future<int> done = Succeeded(1);
  DoneAndNotDone<int> result =
      Wait(std::vector<Future<int>>{cancelled, done},
           {.return_when = ReturnWhen::kFirstException});
  EXPECT_THAT(result.done, ElementsAre(cancelled, done));
  EXPECT_TRUE(result.not_done.empty());
}

TEST(WaitTest, AllCompletedWaitsForEveryFuture) {
  ThreadPoolExecutor pool({.max_workers = 4});
  std::vector<Future<int>> futures = {Succeeded(0), Raised(),
                                      CancelledFuture()};
  for (int i = 0; i < 10; ++i) {
    futures.push_back(*pool.Submit([i] { return i; }));
  }
  DoneAndNotDone<int> result = Wait(futures);
  EXPECT_EQ(result.done.size(), futures.size());
  EXPECT_TRUE(result.not_done.empty());
}

TEST(WaitTest, TimeoutReturnsTheNotDoneAfterAtLeastTheTimeout) {
  Future<int> running = RunningFuture();
  Future<int> done = Succeeded(1);
  const absl::Time start = absl::Now();
  DoneAndNotDone<int> result = Wait(std::vector<Future<int>>{done, running},
                                    {.timeout = absl::Milliseconds(30)});
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(30));
  EXPECT_THAT(result.done, ElementsAre(done));
  EXPECT_THAT(result.not_done, ElementsAre(running));
}

TEST(WaitTest, DuplicatesCountOnce) {
  Future<int> done = Succeeded(1);
  Future<int> pending;
  DoneAndNotDone<int> result =
      Wait(std::vector<Future<int>>{done, done, pending, pending},
           {.timeout = absl::ZeroDuration()});
  EXPECT_THAT(result.done, ElementsAre(done));
  EXPECT_THAT(result.not_done, ElementsAre(pending));
}

TEST(WaitTest, EmptyInputReturnsAtOnce) {
  DoneAndNotDone<int> result = Wait(std::vector<Future<int>>{});
  EXPECT_TRUE(result.done.empty());
  EXPECT_TRUE(result.not_done.empty());
}

TEST(AsCompletedTest, YieldsEveryFutureOnce) {
  ThreadPoolExecutor pool({.max_workers = 2});
  Future<int> a = *pool.Submit([] { return 2 * 21; });
  Future<int> b = *pool.Submit([] { return 7 * 6; });
  Future<int> cancelled = CancelledFuture();
  Future<int> raised = Raised();
  Future<int> succeeded = Succeeded(42);
  std::vector<Future<int>> yielded;
  for (absl::StatusOr<Future<int>> f : AsCompleted(
           std::vector<Future<int>>{cancelled, raised, succeeded, a, b})) {
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_TRUE(f->Done());
    yielded.push_back(*f);
  }
  EXPECT_THAT(yielded,
              UnorderedElementsAre(cancelled, raised, succeeded, a, b));
}

TEST(AsCompletedTest, AlreadyDoneFuturesComeFirstInInputOrder) {
  Gate gate;
  ThreadPoolExecutor pool({.max_workers = 1});
  Future<int> blocked = SubmitGated(pool, gate, 1);
  Future<int> x = Succeeded(1);
  Future<int> y = CancelledFuture();
  AsCompletedRange<int> range =
      AsCompleted(std::vector<Future<int>>{blocked, x, y});
  EXPECT_EQ(**range.Next(), x);
  EXPECT_EQ(**range.Next(), y);
  gate.release.Notify();
  EXPECT_EQ(**range.Next(), blocked);
  EXPECT_FALSE(range.Next().has_value());
}

TEST(AsCompletedTest, YieldsInCompletionOrder) {
  Future<int> first;
  Future<int> second;
  AsCompletedRange<int> range =
      AsCompleted(std::vector<Future<int>>{first, second});
  second.SetResult(2);
  EXPECT_EQ(**range.Next(), second);
  first.SetResult(1);
  EXPECT_EQ(**range.Next(), first);
  EXPECT_FALSE(range.Next().has_value());
}

TEST(AsCompletedTest, ZeroTimeoutYieldsTheDoneOnesThenTimeoutError) {
  Future<int> pending;
  Future<int> running = RunningFuture();
  Future<int> done = Succeeded(1);
  Future<int> cancelled = CancelledFuture();
  std::vector<Future<int>> yielded;
  absl::Status timeout;
  for (absl::StatusOr<Future<int>> f :
       AsCompleted(std::vector<Future<int>>{pending, running, done, cancelled},
                   absl::ZeroDuration())) {
    if (!f.ok()) {
      timeout = f.status();
      continue;
    }
    yielded.push_back(*f);
  }
  EXPECT_THAT(yielded, ElementsAre(done, cancelled));
  EXPECT_EQ(timeout.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(timeout.message(), "TimeoutError: 2 (of 4) futures unfinished");
}

TEST(AsCompletedTest, NonZeroTimeoutTakesAtLeastTheTimeout) {
  Future<int> pending;
  const absl::Time start = absl::Now();
  AsCompletedRange<int> range =
      AsCompleted(std::vector<Future<int>>{pending}, absl::Milliseconds(30));
  std::optional<absl::StatusOr<Future<int>>> next = range.Next();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(30));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->status().message(),
            "TimeoutError: 1 (of 1) futures unfinished");
  EXPECT_FALSE(range.Next().has_value()) << "the timeout is the last item";
}

TEST(AsCompletedTest, DuplicatesAreYieldedOnce) {
  ThreadPoolExecutor pool({.max_workers = 2});
  Future<int> f = *pool.Submit([] { return 1; });
  Future<int> done = Succeeded(2);
  std::vector<Future<int>> yielded;
  for (absl::StatusOr<Future<int>> g :
       AsCompleted(std::vector<Future<int>>{f, f, done, done})) {
    yielded.push_back(*g);
  }
  EXPECT_THAT(yielded, UnorderedElementsAre(f, done));
}

TEST(AsCompletedTest, AbandonedRangeUnregistersItsWaiter) {
  Future<int> pending;
  {
    AsCompletedRange<int> range =
        AsCompleted(std::vector<Future<int>>{pending, Succeeded(1)});
    EXPECT_TRUE(range.Next().has_value());
  }
  pending.SetResult(1);  // Would touch the freed waiter if still registered.
  EXPECT_EQ(pending.Result(), 1);
}

}  // namespace
}  // namespace pyconc::futures
