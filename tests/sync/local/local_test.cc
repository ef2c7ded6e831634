// Local<T>: one value per thread and per Local, made on first use, destroyed
// with the thread or the Local.

#include "sync/local/local.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "sync/barrier/barrier.h"
#include "sync/event/event.h"
#include "tests/sync/testing/bunch.h"

namespace pyconc::sync {
namespace {

using testing::Bunch;

// Counts its live instances.
struct Tracked {
  explicit Tracked(std::atomic<int>& live) : live(&live) { live.fetch_add(1); }
  Tracked(Tracked&& other) : live(other.live) { live->fetch_add(1); }
  ~Tracked() { live->fetch_sub(1); }
  std::atomic<int>* live;
};

TEST(LocalTest, EachThreadHasItsOwnValue) {
  constexpr int kThreads = 16;
  Local<int> value;
  *value = -1;
  Barrier all_written(kThreads);
  Bunch(kThreads, [&](int i) {
    EXPECT_EQ(*value, 0);  // Default-constructed in each thread.
    *value = i;
    ASSERT_TRUE(all_written.Wait().ok());
    EXPECT_EQ(*value, i);
  });
  EXPECT_EQ(*value, -1);
}

TEST(LocalTest, InstancesAreIndependent) {
  Local<int> a, b;
  *a = 1;
  *b = 2;
  EXPECT_EQ(*a, 1);
  EXPECT_EQ(*b, 2);
}

TEST(LocalTest, InitializerRunsOncePerThread) {
  constexpr int kThreads = 8;
  std::atomic<int> inits{0};
  Local<std::vector<int>> local([&] {
    inits.fetch_add(1);
    return std::vector<int>{42};
  });
  Bunch(kThreads, [&](int) {
    local->push_back(1);
    local->push_back(2);
    EXPECT_EQ(local.Get(), (std::vector<int>{42, 1, 2}));
  });
  EXPECT_EQ(inits.load(), kThreads);
}

TEST(LocalTest, ValueIsDestroyedWhenItsThreadExits) {
  std::atomic<int> live{0};
  Local<Tracked> local([&] { return Tracked(live); });
  // std::thread::join() returns after the thread's thread_local destructors
  // ran.
  std::thread thread([&] { EXPECT_EQ(local->live, &live); });
  thread.join();
  EXPECT_EQ(live.load(), 0);
}

TEST(LocalTest, ValuesAreDestroyedWithTheLocal) {
  constexpr int kThreads = 4;
  std::atomic<int> live{0};
  auto local = std::make_unique<Local<Tracked>>([&] { return Tracked(live); });
  Barrier all_made(kThreads + 1);
  Event local_gone;
  Bunch bunch(kThreads, [&](int) {
    local->Get();
    ASSERT_TRUE(all_made.Wait().ok());
    local_gone.Wait();  // The thread outlives the Local.
  });
  ASSERT_TRUE(all_made.Wait().ok());
  EXPECT_EQ(live.load(), kThreads);
  local.reset();
  EXPECT_EQ(live.load(), 0);
  local_gone.Set();
}

}  // namespace
}  // namespace pyconc::sync
