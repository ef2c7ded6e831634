// Coroutine<T>: laziness, values, exceptions, flat stacks, "never awaited".
#include "asyncio/coroutine.h"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

#include "asyncio/internal/frame_cache.h"
#include "asyncio/run.h"
#include "asyncio/sleep.h"
#include "asyncio/task.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyconc::asyncio {
namespace {

using ::testing::HasSubstr;

Coroutine<int> Add(int a, int b) { co_return a + b; }
Coroutine<void> Fail() {
  throw std::runtime_error("inner failure");
  co_return;
}
Coroutine<int> Recurse(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await Recurse(depth - 1);
}

TEST(FrameCacheTest, BlocksFillMallocsChunksWithLessThanAGranuleSpare) {
  using internal::FrameCache;
  const std::size_t largest = FrameCache::BlockSize(FrameCache::kClasses - 1);
  for (std::size_t size = 1; size <= largest; ++size) {
    const std::size_t block = FrameCache::BlockSize(FrameCache::ClassOf(size));
    EXPECT_GE(block, size);
    EXPECT_LT(block, size + FrameCache::kGranule);
    // glibc's chunk: the block and its 8-byte header, a multiple of 16.
    EXPECT_EQ((block + 8) % 16, 0u) << size;
  }
}

TEST(CoroutineTest, AwaitGivesTheValue) {
  EXPECT_EQ(
      asyncio::Run([]() -> Coroutine<int> { co_return co_await Add(2, 3); }()),
      5);
}

TEST(CoroutineTest, IsLazy) {
  int started = 0;
  auto body = [&started]() -> Coroutine<void> {
    ++started;
    co_return;
  };
  asyncio::Run([&]() -> Coroutine<void> {
    Coroutine<void> coro = body();
    EXPECT_EQ(started, 0);
    co_await std::move(coro);
    EXPECT_EQ(started, 1);
  }());
}

TEST(CoroutineTest, ExceptionsPropagateToTheAwaiter) {
  std::string caught;
  asyncio::Run([&]() -> Coroutine<void> {
    try {
      co_await Fail();
    } catch (const std::runtime_error& e) {
      caught = e.what();
    }
  }());
  EXPECT_EQ(caught, "inner failure");
}

// A coroutine's exception waits (in a thread-local) until its awaiter takes
// it, so a caught one leaves nothing behind: the task still finishes with its
// value, and a later failure is the one that comes out.
TEST(CoroutineTest, ACaughtExceptionLeavesTheTaskClean) {
  EXPECT_EQ(asyncio::Run([]() -> Coroutine<int> {
              try {
                co_await Fail();
              } catch (const std::runtime_error&) {
              }
              co_return co_await Add(1, 2);
            }()),
            3);
  try {
    asyncio::Run([]() -> Coroutine<void> {
      try {
        co_await Fail();
      } catch (const std::runtime_error&) {
      }
      co_await Sleep(absl::ZeroDuration());
      throw std::logic_error("second");
    }());
    ADD_FAILURE() << "Run did not throw";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "second");
  }
}

// Two tasks whose inner coroutines fail in the same loop iteration each get
// their own exception, and the main task awaiting them stays their awaiter.
TEST(CoroutineTest, ExceptionsOfInterleavedTasksStayApart) {
  auto fail_after_yield = [](std::string what) -> Coroutine<void> {
    co_await Sleep(absl::ZeroDuration());
    throw std::runtime_error(what);
  };
  auto catch_one = [&](std::string what) -> Coroutine<std::string> {
    try {
      co_await fail_after_yield(what);
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "nothing";
  };
  const std::string both = asyncio::Run([&]() -> Coroutine<std::string> {
    Task<std::string> a = CreateTask(catch_one("a"));
    Task<std::string> b = CreateTask(catch_one("b"));
    std::string got_a = co_await a;
    std::string got_b = co_await b;
    co_return got_a + got_b;
  }());
  EXPECT_EQ(both, "ab");
}

TEST(CoroutineTest, AwaitingTwiceIsMisuse) {
  EXPECT_DEATH(asyncio::Run([]() -> Coroutine<void> {
                 Coroutine<int> once = Add(1, 2);
                 co_await once;
                 co_await once;
               }()),
               "RuntimeError.*cannot reuse already awaited coroutine");
}

TEST(CoroutineTest, RunRethrows) {
  EXPECT_THROW(asyncio::Run(Fail()), std::runtime_error);
}

TEST(CoroutineTest, AMillionSynchronousAwaitsKeepTheStackFlat) {
  const long total = asyncio::Run([]() -> Coroutine<long> {
    long sum = 0;
    for (int i = 0; i < 1'000'000; ++i) sum += co_await Add(i, 0);
    co_return sum;
  }());
  EXPECT_EQ(total, 1'000'000L * 999'999L / 2);
}

TEST(CoroutineTest, DeepRecursionKeepsTheStackFlat) {
  EXPECT_EQ(asyncio::Run(Recurse(200'000)), 200'000);
}

TEST(CoroutineTest, AwaitAcrossSuspensions) {
  auto slow = []() -> Coroutine<int> {
    co_await Sleep(absl::Milliseconds(1));
    co_return 7;
  };
  EXPECT_EQ(asyncio::Run([&]() -> Coroutine<int> {
              int a = co_await slow();
              int b = co_await slow();
              co_return a + b;
            }()),
            14);
}

TEST(CoroutineTest, NeverAwaitedIsReported) {
  testing::internal::CaptureStderr();
  { Coroutine<int> dropped = Add(1, 2); }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("was never awaited"));
  EXPECT_THAT(err, HasSubstr("Add"));
}

TEST(CoroutineTest, MovedFromIsEmpty) {
  Coroutine<int> a = Add(1, 1);
  Coroutine<int> b = std::move(a);
  EXPECT_FALSE(a.valid());
  EXPECT_TRUE(b.valid());
  EXPECT_EQ(asyncio::Run(std::move(b)), 2);
}

}  // namespace
}  // namespace pyconc::asyncio
