#include "threading/thread/thread.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sync/local/local.h"

namespace pyconc::threading {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

bool Contains(const std::vector<ThreadRef>& threads, const ThreadRef& thread) {
  return std::find(threads.begin(), threads.end(), thread) != threads.end();
}

TEST(ThreadTest, RunsTargetWithArguments) {
  int sum = 0;
  Thread t([&sum](int a, int b) { sum = a + b; }, 2, 3);
  EXPECT_TRUE(t.Start().ok());
  t.Join();
  EXPECT_EQ(sum, 5);
}

TEST(ThreadTest, MoveOnlyArgumentsReachTheTarget) {
  int seen = 0;
  Thread t([&seen](std::unique_ptr<int> p) { seen = *p; },
           std::make_unique<int>(42));
  EXPECT_TRUE(t.Start().ok());
  t.Join();
  EXPECT_EQ(seen, 42);
}

TEST(ThreadTest, IsAliveFromStartUntilTheTargetReturns) {
  absl::Notification release;
  Thread t([&release] { release.WaitForNotification(); });
  EXPECT_FALSE(t.IsAlive());
  EXPECT_TRUE(t.Start().ok());
  EXPECT_TRUE(t.IsAlive());
  EXPECT_FALSE(t.Join(absl::Milliseconds(10)));
  EXPECT_TRUE(t.IsAlive());
  release.Notify();
  EXPECT_TRUE(t.Join(absl::InfiniteDuration()));
  EXPECT_FALSE(t.IsAlive());
}

// Python drops a thread's threading.local values before join() returns: after
// join, a weak reference to a value the thread stored there is dead.
TEST(ThreadTest, JoinReturnsAfterTheThreadsLocalValuesAreDestroyed) {
  sync::Local<std::shared_ptr<int>> local;
  for (int round = 0; round < 50; ++round) {
    auto value = std::make_shared<int>(round);
    const std::weak_ptr<int> watch = value;
    Thread thread([&local, value = std::move(value)]() mutable {
      *local = std::move(value);
    });
    EXPECT_TRUE(thread.Start().ok());
    if (round % 2 == 0) {
      thread.Join();
    } else {
      while (!thread.Join(absl::Seconds(10))) {
      }
    }
    EXPECT_TRUE(watch.expired()) << "round " << round;
  }
}

// A value whose destructor uses a Local again: the new value is destroyed too
// before Join() returns.
TEST(ThreadTest, LocalsMadeByALocalsDestructorAreDestroyedBeforeJoin) {
  struct Probe {
    std::shared_ptr<int> token;
    sync::Local<std::shared_ptr<int>>* again = nullptr;
    ~Probe() {
      if (again != nullptr && token != nullptr) **again = token;
    }
  };
  sync::Local<std::shared_ptr<int>> again;
  sync::Local<Probe> first;
  auto token = std::make_shared<int>(1);
  const std::weak_ptr<int> watch = token;
  Thread thread([&, token = std::move(token)]() mutable {
    first->token = std::move(token);
    first->again = &again;
  });
  EXPECT_TRUE(thread.Start().ok());
  thread.Join();
  EXPECT_TRUE(watch.expired());
}

TEST(ThreadTest, JoinWithTimeoutWaitsAtLeastTheTimeout) {
  absl::Notification release;
  Thread t([&release] { release.WaitForNotification(); });
  EXPECT_TRUE(t.Start().ok());
  const absl::Time start = absl::Now();
  EXPECT_FALSE(t.Join(absl::Milliseconds(50)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
  EXPECT_FALSE(t.Join(absl::ZeroDuration()));
  EXPECT_FALSE(
      t.Join(absl::Seconds(-1)));  // Negative means zero, as in Python.
  release.Notify();
  t.Join();
  EXPECT_TRUE(t.Join(absl::ZeroDuration()));  // Joining again is allowed.
}

TEST(ThreadTest, DefaultNamesCountUpAndCustomNamesStick) {
  Thread a([] {});
  Thread b([] {});
  ASSERT_THAT(a.name(), StartsWith("Thread-"));
  ASSERT_THAT(b.name(), StartsWith("Thread-"));
  EXPECT_GT(std::stoi(b.name().substr(7)), std::stoi(a.name().substr(7)));

  Thread named({.name = "worker"}, [] {});
  EXPECT_EQ(named.name(), "worker");
  named.set_name("renamed");
  EXPECT_EQ(named.name(), "renamed");
}

TEST(ThreadTest, IdsAreZeroBeforeStartAndMatchTheThreadAfter) {
  uint64_t ident_inside = 0;
  int64_t native_id_inside = 0;
  Thread t([&] {
    ident_inside = GetIdent();
    native_id_inside = GetNativeId();
  });
  EXPECT_EQ(t.ident(), 0u);
  EXPECT_EQ(t.native_id(), 0);
  EXPECT_TRUE(t.Start().ok());
  const uint64_t ident = t.ident();  // Valid right after Start().
  const int64_t native_id = t.native_id();
  t.Join();
  EXPECT_EQ(ident, ident_inside);
  EXPECT_EQ(native_id, native_id_inside);
  EXPECT_NE(ident, GetIdent());
  EXPECT_NE(native_id, GetNativeId());
  EXPECT_EQ(t.ident(), ident);  // Kept after the thread ends, as in Python.
}

TEST(ThreadTest, CurrentThreadInsideATargetIsThatThread) {
  std::optional<ThreadRef> seen;
  Thread t({.name = "me"}, [&seen] { seen = CurrentThread(); });
  EXPECT_TRUE(t.Start().ok());
  t.Join();
  ASSERT_TRUE(seen.has_value());
  EXPECT_TRUE(*seen == t);
  EXPECT_EQ(seen->name(), "me");
}

TEST(ThreadTest, MainThreadIsTheCurrentThreadOfMain) {
  EXPECT_EQ(MainThread().name(), "MainThread");
  EXPECT_TRUE(CurrentThread() == MainThread());
  EXPECT_FALSE(MainThread().daemon());
  EXPECT_TRUE(MainThread().IsAlive());
  EXPECT_EQ(MainThread().ident(), GetIdent());
  EXPECT_TRUE(Contains(Enumerate(), MainThread()));
}

TEST(ThreadTest, DaemonFlagIsInheritedFromTheCreatingThread) {
  Thread from_main([] {});
  EXPECT_FALSE(from_main.daemon());

  std::optional<bool> child_daemon;
  Thread daemon({.daemon = true}, [&child_daemon] {
    Thread child([] {});
    child_daemon = child.daemon();
  });
  EXPECT_TRUE(daemon.Start().ok());
  daemon.Join();
  EXPECT_EQ(child_daemon, true);

  Thread explicit_flag({.daemon = false}, [] {});
  explicit_flag.set_daemon(true);
  EXPECT_TRUE(explicit_flag.daemon());
}

TEST(ThreadTest, TargetTakingAStopTokenSeesRequestStop) {
  absl::Notification stopped;
  Thread t(
      [&stopped](std::stop_token token, int unused) {
        (void)unused;
        std::stop_callback on_stop(token, [&stopped] { stopped.Notify(); });
        stopped.WaitForNotification();
      },
      7);
  EXPECT_TRUE(t.Start().ok());
  EXPECT_FALSE(t.stop_token().stop_requested());
  EXPECT_TRUE(t.RequestStop());
  EXPECT_FALSE(t.RequestStop());  // Only the first request counts.
  t.Join();
  EXPECT_TRUE(t.stop_token().stop_requested());
}

class Counter : public Thread {
 public:
  explicit Counter(int n) : Thread({.name = "counter"}), n_(n) {}
  int total() const { return total_; }

 protected:
  void Run() override {
    for (int i = 1; i <= n_; ++i) total_ += i;
  }

 private:
  const int n_;
  int total_ = 0;
};

TEST(ThreadTest, SubclassRunsItsOverriddenRun) {
  Counter counter(100);
  EXPECT_TRUE(counter.Start().ok());
  counter.Join();
  EXPECT_EQ(counter.total(), 5050);
  EXPECT_EQ(counter.name(), "counter");
}

TEST(ThreadTest, DestroyingTheHandleLeavesTheThreadRunning) {
  absl::Notification release;
  std::optional<ThreadRef> ref;
  {
    Thread t([&release] { release.WaitForNotification(); });
    EXPECT_TRUE(t.Start().ok());
    ref = t;
  }
  EXPECT_TRUE(ref->IsAlive());
  EXPECT_TRUE(Contains(Enumerate(), *ref));
  release.Notify();
  ref->Join();
  EXPECT_FALSE(Contains(Enumerate(), *ref));
}

TEST(ThreadTest, ThreadsPyconcDidNotStartAppearAsDaemonDummies) {
  absl::Notification checked;
  std::optional<ThreadRef> dummy;
  int count_inside = 0;
  std::thread foreign([&] {
    dummy = CurrentThread();
    count_inside = ActiveCount();
    checked.Notify();
  });
  foreign.join();
  ASSERT_TRUE(dummy.has_value());
  EXPECT_THAT(dummy->name(), StartsWith("Dummy-"));
  EXPECT_TRUE(dummy->daemon());
  EXPECT_EQ(count_inside, ActiveCount() + 1);
  EXPECT_FALSE(Contains(Enumerate(), *dummy));  // Gone once its thread exited.
}

class ExceptHookTest : public ::testing::Test {
 protected:
  void TearDown() override { SetExceptHook(nullptr); }
};

TEST_F(ExceptHookTest, UncaughtExceptionReachesTheHookWithTheThread) {
  absl::Mutex mu;
  std::string description;
  std::string thread_name;
  SetExceptHook([&](const ExceptHookArgs& args) {
    absl::MutexLock lock(&mu);
    description = DescribeException(args.exception);
    thread_name = args.thread.name();
  });
  Thread t({.name = "thrower"}, [] { throw std::runtime_error("boom"); });
  EXPECT_TRUE(t.Start().ok());
  t.Join();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(description, "std::runtime_error: boom");
  EXPECT_EQ(thread_name, "thrower");
}

TEST_F(ExceptHookTest, DefaultHookPrintsTheThreadNameAndException) {
  ::testing::internal::CaptureStderr();
  Thread t({.name = "loud"}, [] { throw std::invalid_argument("bad value"); });
  EXPECT_TRUE(t.Start().ok());
  t.Join();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("Exception in thread loud:"));
  EXPECT_THAT(err, HasSubstr("std::invalid_argument: bad value"));
}

TEST_F(ExceptHookTest, SetExceptHookReturnsThePreviousHook) {
  int calls = 0;
  SetExceptHook([&calls](const ExceptHookArgs&) { ++calls; });
  ExceptHookFunction previous = SetExceptHook(nullptr);
  ASSERT_TRUE(previous);
  previous({std::make_exception_ptr(std::runtime_error("x")), CurrentThread()});
  EXPECT_EQ(calls, 1);
}

TEST(DescribeExceptionTest, NamesNonStandardExceptionTypes) {
  EXPECT_EQ(DescribeException(std::make_exception_ptr(42)), "int");
  EXPECT_EQ(DescribeException(nullptr), "no exception");
}

TEST(ThreadTest, ThousandThreadsKeepEnumerateAndActiveCountConsistent) {
  constexpr int kThreads = 1000;
  const int before = ActiveCount();
  absl::Notification release;
  absl::Mutex mu;
  int running = 0;
  std::deque<Thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      {
        absl::MutexLock lock(&mu);
        ++running;
      }
      release.WaitForNotification();
    });
    EXPECT_TRUE(threads.back().Start().ok());
    EXPECT_EQ(ActiveCount(), before + i + 1);
  }
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* n) { return *n == kThreads; }, &running));
  }
  const std::vector<ThreadRef> all = Enumerate();
  EXPECT_EQ(static_cast<int>(all.size()), before + kThreads);
  for (const Thread& t : threads) EXPECT_TRUE(Contains(all, t));
  release.Notify();
  for (int i = 0; i < kThreads; ++i) {
    threads[i].Join();
    // Later threads may finish before they are joined, never the other way
    // round.
    EXPECT_LE(ActiveCount(), before + kThreads - i - 1);
    EXPECT_FALSE(threads[i].IsAlive());
  }
  EXPECT_EQ(static_cast<int>(Enumerate().size()), before);
}

}  // namespace
}  // namespace pyconc::threading
