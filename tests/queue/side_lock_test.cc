// SideLock, the queue's per-side lock (queue/internal/side_lock.h): mutual
// exclusion under contention, and a sleeper woken by the Unlock() whose plain
// store it could have missed, the case its asymmetric fences exist for.

#include "queue/internal/side_lock.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace pyconc::queue::internal {

struct SideLockTestPeer {
  static uint32_t Sleepers(const SideLock& lock) {
    return lock.sleepers_.load(std::memory_order_seq_cst);
  }
};

namespace {

TEST(SideLockTest, ExcludesUnderContention) {
  constexpr int kThreads = 4;
  constexpr int kIncrements = 100'000;
  SideLock lock;
  int counter = 0;  // Guarded by `lock`; tsan checks the exclusion too.
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        SideGuard guard(&lock);
        ++counter;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  SideGuard guard(&lock);
  EXPECT_EQ(counter, kThreads * kIncrements);
}

TEST(SideLockTest, UnlockWakesASleepingThread) {
  for (int round = 0; round < 20; ++round) {
    SideLock lock;
    lock.Lock();
    std::atomic<bool> took{false};
    std::thread sleeper([&] {
      SideGuard guard(&lock);
      took = true;
    });
    // The other thread has spun and counted itself a sleeper: it is past the
    // point where only the wake-up can let it in.
    while (SideLockTestPeer::Sleepers(lock) == 0) std::this_thread::yield();
    EXPECT_FALSE(took);
    lock.Unlock();
    sleeper.join();  // Hangs (and times out) if the wake-up were lost.
    EXPECT_TRUE(took);
  }
}

}  // namespace
}  // namespace pyconc::queue::internal
