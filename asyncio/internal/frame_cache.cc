#include "asyncio/internal/frame_cache.h"

#include <cstddef>
#include <new>

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

}  // namespace pyconc::asyncio::internal
