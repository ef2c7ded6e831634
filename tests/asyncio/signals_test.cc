// Signal handlers on the event loop (signalfd) and asyncio.run's Ctrl-C.
// Ported tests name their CPython original (3.13,
// Lib/test/test_asyncio/test_unix_events.py, test_runners.py); the signals
// are raised by the test itself, so nothing races a timer.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "asyncio/errors.h"
#include "asyncio/loop.h"
#include "asyncio/run.h"
#include "asyncio/sleep.h"
#include "asyncio/subprocess.h"
#include "asyncio/task.h"
#include "gtest/gtest.h"

namespace pyconc::asyncio {
namespace {

pid_t ThreadId() { return static_cast<pid_t>(syscall(SYS_gettid)); }

Coroutine<void> Yield(int n) {
  for (int i = 0; i < n; ++i) co_await Sleep(absl::ZeroDuration());
}

bool HasDefaultDisposition(int sig) {
  struct sigaction action;
  sigaction(sig, nullptr, &action);
  return (action.sa_flags & SA_SIGINFO) == 0 && action.sa_handler == SIG_DFL;
}

bool BlockedHere(int sig) {
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  return sigismember(&mask, sig) == 1;
}

// test_add_signal_handler: a signal raised inside a task runs the callback on
// the loop's thread, in a later iteration; removing it restores the default
// disposition and the mask.
TEST(SignalsTest, RaiseInTaskRunsCallbackOnLoopThread) {
  const pid_t loop_thread = ThreadId();
  asyncio::Run([loop_thread]() -> Coroutine<void> {
    EventLoop& loop = GetRunningLoop();
    Future<pid_t> ran = loop.CreateFuture<pid_t>();
    loop.AddSignalHandler(SIGUSR1,
                          [ran]() mutable { ran.SetResult(ThreadId()); });
    EXPECT_FALSE(HasDefaultDisposition(SIGUSR1));
    EXPECT_TRUE(BlockedHere(SIGUSR1));
    raise(SIGUSR1);
    EXPECT_FALSE(ran.Done());  // The callback waits for the loop.
    EXPECT_EQ(co_await ran, loop_thread);
    EXPECT_TRUE(loop.RemoveSignalHandler(SIGUSR1));
    EXPECT_FALSE(loop.RemoveSignalHandler(SIGUSR1));
    EXPECT_TRUE(HasDefaultDisposition(SIGUSR1));
    EXPECT_FALSE(BlockedHere(SIGUSR1));
  }());
}

// Each arrival runs the callback once; a second handler replaces the first.
TEST(SignalsTest, ReplacedHandlerRunsOnEveryArrival) {
  asyncio::Run([]() -> Coroutine<void> {
    EventLoop& loop = GetRunningLoop();
    int first = 0;
    std::vector<int> second;
    loop.AddSignalHandler(SIGUSR2, [&first] { ++first; });
    loop.AddSignalHandler(SIGUSR2, [&second] { second.push_back(1); });
    Future<void> twice = loop.CreateFuture();
    loop.AddSignalHandler(SIGUSR1, [&second, twice]() mutable {
      second.push_back(2);
      twice.SetResult();
    });
    raise(SIGUSR2);
    co_await Yield(3);
    raise(SIGUSR1);
    co_await twice;
    EXPECT_EQ(first, 0);
    EXPECT_EQ(second, (std::vector<int>{1, 2}));
    EXPECT_TRUE(loop.RemoveSignalHandler(SIGUSR1));
    EXPECT_TRUE(loop.RemoveSignalHandler(SIGUSR2));
  }());
}

// A thread that existed before the handler and does not block the signal
// takes it: the loop's disposition forwards it to the loop's thread.
TEST(SignalsTest, SignalTakenByAnOlderThreadReachesTheLoop) {
  absl::Notification go;
  std::thread older([&go] {
    go.WaitForNotification();
    raise(SIGUSR1);  // Directed at this thread, which does not block it.
  });
  const pid_t loop_thread = ThreadId();
  asyncio::Run([&go, loop_thread]() -> Coroutine<void> {
    EventLoop& loop = GetRunningLoop();
    Future<pid_t> ran = loop.CreateFuture<pid_t>();
    loop.AddSignalHandler(SIGUSR1,
                          [ran]() mutable { ran.SetResult(ThreadId()); });
    go.Notify();
    EXPECT_EQ(co_await ran, loop_thread);
  }());
  older.join();
  EXPECT_TRUE(HasDefaultDisposition(SIGUSR1));  // Run's Close removed it.
}

// A signal that arrived but whose callback had not run when the handler was
// removed is dropped (Python's _handle_signal finds no handler), not
// delivered with the default action (which would end the process).
TEST(SignalsTest, RemovedBeforeItRunsIsDropped) {
  asyncio::Run([]() -> Coroutine<void> {
    EventLoop& loop = GetRunningLoop();
    int ran = 0;
    loop.AddSignalHandler(SIGUSR1, [&ran] { ++ran; });
    raise(SIGUSR1);
    EXPECT_TRUE(loop.RemoveSignalHandler(SIGUSR1));
    co_await Yield(3);
    EXPECT_EQ(ran, 0);
    // Read, scheduled, then removed: the scheduled callback does not run.
    // Both are read in one go, lowest number first, so SIGUSR1's callback
    // runs first and removes SIGUSR2's, already scheduled.
    loop.AddSignalHandler(SIGUSR2, [&ran] { ++ran; });
    Future<void> read = loop.CreateFuture();
    loop.AddSignalHandler(SIGUSR1, [&loop, read]() mutable {
      loop.RemoveSignalHandler(SIGUSR2);
      read.SetResult();
    });
    raise(SIGUSR2);
    raise(SIGUSR1);
    co_await read;
    co_await Yield(3);
    EXPECT_EQ(ran, 0);
  }());
}

// Python's loop.close() removes the handlers.
TEST(SignalsTest, CloseRemovesHandlers) {
  EventLoop loop;
  loop.AddSignalHandler(SIGUSR1, [] {});
  EXPECT_TRUE(BlockedHere(SIGUSR1));
  loop.Close();
  EXPECT_TRUE(HasDefaultDisposition(SIGUSR1));
  EXPECT_FALSE(BlockedHere(SIGUSR1));
}

// A signal the thread had blocked itself stays blocked after removal.
TEST(SignalsTest, RemoveKeepsTheThreadsOwnBlock) {
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &one, nullptr);
  EventLoop loop;
  loop.AddSignalHandler(SIGUSR2, [] {});
  EXPECT_TRUE(loop.RemoveSignalHandler(SIGUSR2));
  EXPECT_TRUE(BlockedHere(SIGUSR2));
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
}

// test_add_signal_handler_install_error*, test_remove_signal_handler_error*:
// Python's ValueError and RuntimeError.
TEST(SignalsDeathTest, InvalidSignals) {
  EventLoop loop;
  EXPECT_DEATH(loop.AddSignalHandler(0, [] {}),
               "ValueError.*invalid signal number 0");
  EXPECT_DEATH(loop.AddSignalHandler(NSIG, [] {}),
               "ValueError.*invalid signal number");
  EXPECT_DEATH(loop.AddSignalHandler(SIGKILL, [] {}),
               "RuntimeError.*sig 9 cannot be caught");
  EXPECT_DEATH(loop.AddSignalHandler(SIGSTOP, [] {}),
               "RuntimeError.*sig 19 cannot be caught");
  EXPECT_DEATH(loop.RemoveSignalHandler(-1),
               "ValueError.*invalid signal number -1");
  EXPECT_FALSE(loop.RemoveSignalHandler(SIGKILL));
}

TEST(SignalsDeathTest, OneLoopPerSignal) {
  EventLoop first;
  first.AddSignalHandler(SIGUSR1, [] {});
  EventLoop second;
  EXPECT_DEATH(second.AddSignalHandler(SIGUSR1, [] {}),
               "RuntimeError.*sig 10 is handled by another event loop");
}

// A child process does not inherit the block that the loop's signalfd needs.
TEST(SignalsTest, SubprocessStartsWithoutTheBlock) {
  asyncio::Run([]() -> Coroutine<void> {
    EventLoop& loop = GetRunningLoop();
    loop.AddSignalHandler(SIGUSR1, [] {});
    const std::vector<std::string> grep = {"grep", "SigBlk",
                                           "/proc/self/status"};
    absl::StatusOr<Process> p = CreateSubprocessExec(grep, {.out = kPipe});
    EXPECT_TRUE(p.ok()) << p.status();
    absl::StatusOr<Communicated> got = co_await p->Communicate();
    EXPECT_TRUE(got.ok()) << got.status();
    // "SigBlk:\t0000000000000000\n"
    const std::vector<std::string> parts =
        absl::StrSplit(got->out, absl::ByAnyChar(":\t\n "), absl::SkipEmpty());
    uint64_t blocked = ~uint64_t{0};
    EXPECT_EQ(parts.size(), 2u) << got->out;
    if (parts.size() == 2) {
      EXPECT_TRUE(absl::SimpleHexAtoi(parts[1], &blocked));
    }
    EXPECT_EQ(blocked & (uint64_t{1} << (SIGUSR1 - 1)), 0u) << got->out;
  }());
}

// test_runners.py's test_signal_install_not_supported_ok /
// test_interrupt_call_soon: the first SIGINT cancels the main task, which
// cleans up, and Run rethrows the cancellation (Python: KeyboardInterrupt).
TEST(RunInterruptTest, FirstSigintCancelsMain) {
  std::vector<std::string> events;
  EXPECT_THROW(asyncio::Run([&events]() -> Coroutine<int> {
                 Future<int> never = GetRunningLoop().CreateFuture<int>();
                 raise(SIGINT);
                 try {
                   co_return co_await never;
                 } catch (const CancelledError&) {
                   events.push_back("main cleanup");
                   // The next Ctrl-C would end the process.
                   if (HasDefaultDisposition(SIGINT)) {
                     events.push_back("default again");
                   }
                   throw;
                 }
               }()),
               CancelledError);
  EXPECT_EQ(events,
            (std::vector<std::string>{"main cleanup", "default again"}));
  EXPECT_TRUE(HasDefaultDisposition(SIGINT));
  EXPECT_FALSE(BlockedHere(SIGINT));
}

// A main task that swallows the cancellation returns its value, as in Python
// when the task uncancels; Run leaves SIGINT as it found it.
TEST(RunInterruptTest, MainThatCatchesTheCancellationReturns) {
  const int got = asyncio::Run([]() -> Coroutine<int> {
    Future<int> never = GetRunningLoop().CreateFuture<int>();
    raise(SIGINT);
    try {
      co_await never;
    } catch (const CancelledError&) {
      co_return 130;
    }
    co_return 0;
  }());
  EXPECT_EQ(got, 130);
  EXPECT_TRUE(HasDefaultDisposition(SIGINT));
  EXPECT_FALSE(BlockedHere(SIGINT));
}

// The second Ctrl-C ends the process (Python raises KeyboardInterrupt).
TEST(RunInterruptDeathTest, SecondSigintEndsTheProcess) {
  EXPECT_EXIT(asyncio::Run([]() -> Coroutine<void> {
                Future<int> never = GetRunningLoop().CreateFuture<int>();
                raise(SIGINT);
                try {
                  co_await never;
                } catch (const CancelledError&) {
                  raise(SIGINT);
                }
                std::_Exit(0);  // Not reached.
              }()),
              ::testing::KilledBySignal(SIGINT), "");
}

// A program with its own SIGINT disposition keeps it: Run installs nothing
// (Python checks that SIGINT's handler is default_int_handler).
TEST(RunInterruptTest, OwnDispositionIsLeftAlone) {
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction previous;
  sigaction(SIGINT, &ignore, &previous);
  const int got = asyncio::Run([]() -> Coroutine<int> {
    raise(SIGINT);
    co_await Yield(3);
    co_return 1;
  }());
  EXPECT_EQ(got, 1);
  struct sigaction now;
  sigaction(SIGINT, &previous, &now);
  EXPECT_EQ(now.sa_handler, SIG_IGN);
}

// Run on another thread than main installs nothing, as Python's Runner.
TEST(RunInterruptTest, NotOnTheMainThread) {
  std::thread worker([] {
    asyncio::Run([]() -> Coroutine<void> {
      EXPECT_TRUE(HasDefaultDisposition(SIGINT));
      co_return;
    }());
  });
  worker.join();
}

}  // namespace
}  // namespace pyconc::asyncio
