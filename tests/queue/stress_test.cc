// Stress: 8 producers and 8 consumers move 1,000,000 items through a small
// bounded queue (so both sides block often); every item must arrive exactly
// once, the checksum must match, Join must see every task done, and Shutdown
// ends the consumers. Also run on each other kind with fewer items.

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "queue/queue.h"
#include "queue/status.h"
#include "threading/thread/thread.h"

namespace pyconc::queue {
namespace {

using ::pyconc::threading::Thread;

constexpr int kProducers = 8;
constexpr int kConsumers = 8;

template <typename Q>
void Stress(int64_t items, int64_t maxsize, int producers = kProducers,
            int consumers = kConsumers) {
  Q q(maxsize);
  std::vector<std::atomic<uint8_t>> seen(items);
  std::atomic<int64_t> checksum{0};
  std::atomic<int64_t> unexpected{0};
  std::deque<Thread> producer_threads, consumer_threads;
  for (int p = 0; p < producers; ++p) {
    producer_threads.emplace_back([&, p] {
      for (int64_t i = p; i < items; i += producers) {
        if (!q.Put(i).ok()) ++unexpected;
      }
    });
  }
  for (int c = 0; c < consumers; ++c) {
    consumer_threads.emplace_back([&] {
      int64_t sum = 0;
      for (;;) {
        absl::StatusOr<int64_t> got = q.Get();
        if (!got.ok()) {
          if (!IsShutDown(got.status())) ++unexpected;
          break;
        }
        seen[*got].fetch_add(1, std::memory_order_relaxed);
        sum += *got;
        q.TaskDone();
      }
      checksum += sum;
    });
  }
  for (Thread& thread : consumer_threads) EXPECT_TRUE(thread.Start().ok());
  for (Thread& thread : producer_threads) EXPECT_TRUE(thread.Start().ok());
  for (Thread& thread : producer_threads) thread.Join();
  q.Join();
  EXPECT_EQ(q.unfinished_tasks(), 0);
  EXPECT_TRUE(q.Empty());
  q.Shutdown();
  for (Thread& thread : consumer_threads) thread.Join();
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(checksum.load(), items * (items - 1) / 2);
  int64_t wrong = 0;
  for (int64_t i = 0; i < items; ++i) wrong += seen[i].load() != 1;
  EXPECT_EQ(wrong, 0) << "items lost or delivered twice";
}

TEST(StressTest, Fifo8x8MillionItems) { Stress<Queue<int64_t>>(1'000'000, 64); }

// A queue of one item: nearly every Put and Get waits for the other side, so a
// lost wake-up would hang here.
TEST(StressTest, PingPongThroughOneSlot) {
  Stress<Queue<int64_t>>(20'000, 1, 1, 1);
  Stress<Queue<int64_t>>(20'000, 1, 2, 2);
}

TEST(StressTest, FifoUnbounded) { Stress<Queue<int64_t>>(200'000, 0); }

TEST(StressTest, Lifo) { Stress<LifoQueue<int64_t>>(200'000, 64); }

TEST(StressTest, Priority) { Stress<PriorityQueue<int64_t>>(200'000, 64); }

TEST(StressTest, SimpleQueue) {
  constexpr int64_t kItems = 400'000;
  SimpleQueue<int64_t> q;
  std::vector<std::atomic<uint8_t>> seen(kItems);
  std::deque<Thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      for (int64_t i = p; i < kItems; i += kProducers) q.Put(i);
      for (int c = p; c < kConsumers; c += kProducers) q.Put(-1);
    });
  }
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&] {
      for (int64_t x; (x = *q.Get()) >= 0;) seen[x].fetch_add(1);
    });
  }
  for (Thread& thread : threads) EXPECT_TRUE(thread.Start().ok());
  for (Thread& thread : threads) thread.Join();
  int64_t wrong = 0;
  for (int64_t i = 0; i < kItems; ++i) wrong += seen[i].load() != 1;
  EXPECT_EQ(wrong, 0);
  EXPECT_TRUE(q.Empty());
}

}  // namespace
}  // namespace pyconc::queue
