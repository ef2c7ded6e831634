// Fork safety: a program whose threads hold an absl::Mutex, allocate with
// malloc and write to stdio while Start() runs still gets children that run
// to completion, because children are forked by the single-threaded fork
// server, never from this multi-threaded process.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "multiprocessing/process/connection.h"
#include "multiprocessing/process/process.h"
#include "multiprocessing/process/queue.h"
#include "tests/multiprocessing/process/no_orphans.h"

namespace pyconc::multiprocessing {
namespace {

// Held by a parent thread for the whole test: a child forked from this process
// would find it locked for ever.
absl::Mutex held_mu(absl::kConstInit);

// What each child does: everything that would hang after an unsafe fork.
void TouchEveryLock(int round, Connection conn) {
  { absl::MutexLock lock(&held_mu); }
  std::vector<std::unique_ptr<std::string>> garbage;
  for (int i = 0; i < 1000; ++i) {
    garbage.push_back(std::make_unique<std::string>(100 + i % 50, 'x'));
  }
  std::fprintf(stdout, "child round %d\n", round);
  std::fflush(stdout);
  (void)conn.Send(round);
}

class ForkSafetyTest : public testing::NoOrphansTest {};

TEST_F(ForkSafetyTest, ChildrenRunWhileParentThreadsHoldLocks) {
  // As a program that runs threads does at the top of main.
  ASSERT_TRUE(StartForkServer().ok());

  std::atomic<bool> stop{false};
  absl::Notification mutex_held, release_mutex;
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    absl::MutexLock lock(&held_mu);
    mutex_held.Notify();
    release_mutex.WaitForNotification();
  });
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&] {  // malloc's arena locks, taken all the time.
      while (!stop.load(std::memory_order_relaxed)) {
        std::vector<std::unique_ptr<char[]>> blocks;
        for (int j = 0; j < 64; ++j) blocks.emplace_back(new char[64 + j * 8]);
      }
    });
  }
  threads.emplace_back([&] {  // stdio's lock on a logging stream.
    FILE* log = std::fopen("/dev/null", "w");
    while (!stop.load(std::memory_order_relaxed)) {
      std::fprintf(log, "log line with a number %d\n", 42);
    }
    std::fclose(log);
  });
  threads.emplace_back([&] {  // stdout's lock held for long stretches.
    while (!stop.load(std::memory_order_relaxed)) {
      ::flockfile(stdout);
      for (int k = 0; k < 100; ++k) std::this_thread::yield();
      ::funlockfile(stdout);
    }
  });
  mutex_held.WaitForNotification();

  constexpr int kRounds = 20;
  auto [parent, child] = Pipe();
  std::deque<Process> processes;
  for (int round = 0; round < kRounds; ++round) {
    processes.emplace_back(&TouchEveryLock, round, child);
    EXPECT_TRUE(processes.back().Start().ok());
  }
  // The children need held_mu, which this process's thread still holds: only
  // a child that does not share this process's memory can take it.
  std::vector<bool> seen(kRounds, false);
  for (int i = 0; i < kRounds; ++i) {
    ASSERT_TRUE(parent.Poll(absl::Seconds(60))) << "a child hung";
    absl::StatusOr<int> round = parent.Recv<int>();
    ASSERT_TRUE(round.ok()) << round.status();
    seen[*round] = true;
  }
  for (Process& p : processes) {
    ASSERT_TRUE(p.Join(absl::Seconds(60))) << "a child hung";
    EXPECT_EQ(p.ExitCode(), 0);
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), kRounds);

  stop = true;
  release_mutex.Notify();
  for (std::thread& thread : threads) thread.join();
}

}  // namespace
}  // namespace pyconc::multiprocessing
