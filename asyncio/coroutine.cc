#include "asyncio/coroutine.h"

#include <cstddef>
#include <cstdio>
#include <new>
#include <string>

#include "asyncio/debug.h"
#include "base/misuse.h"

namespace pyconc::asyncio::internal {
namespace {

// Frees the thread's cached frames when the thread exits.
struct CacheOwner {
  ~CacheOwner() {
    for (size_t c = 0; c < FrameCache::kClasses; ++c) {
      while (frame_cache.heads[c] != nullptr) {
        FrameCache::Free* block = frame_cache.heads[c];
        frame_cache.heads[c] = block->next;
        ::operator delete(block);
      }
      // Frames freed later during this thread's exit go back to malloc.
      frame_cache.counts[c] = FrameCache::kMaxCached;
    }
  }
  bool active = false;
};
thread_local CacheOwner owner;

}  // namespace

void RegisterFrameCacheCleanup() {
  owner.active = true;
  frame_cache.cleanup_registered = true;
}

void ReportNeverAwaited(const Where& where) {
  const std::string line =
      std::string("pyconc.asyncio: RuntimeWarning: coroutine '") +
      where.function + "' (" + where.ShortString() + ") was never awaited\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

void AwaitedTwice(const Where& where) {
  pyconc::internal::Misuse(
      "RuntimeError", std::string("cannot reuse already awaited coroutine '") +
                          where.function + "' (" + where.ShortString() + ")");
}

}  // namespace pyconc::asyncio::internal
