#include <thread>
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "gflags/gflags.h"
#include "benchmark/benchmark.h"
TEST(Smoke, Mutex) { absl::Mutex mu; int x = 0; std::thread t([&]{ absl::MutexLock l(&mu); ++x; }); { absl::MutexLock l(&mu); ++x; } t.join(); EXPECT_EQ(x, 2); }
