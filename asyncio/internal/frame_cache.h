// The frame cache: coroutine frames (and task and future states) come from a
// per-thread cache of freed blocks in size classes 16 bytes apart up to 760,
// at most kMaxCached per class: a coroutine called and awaited in a loop reuses
// one block instead of calling malloc each time. The fast paths are inline;
// trivially destructible so that reaching the cache costs no TLS guard
// (RegisterFrameCacheCleanup frees what is left at thread exit). Internal:
// coroutine.h and future.h allocate through it.
//
// Thread-safety: each thread has its own cache; a block freed on another
// thread than the one that allocated it goes to the freeing thread's cache.

#ifndef PYCONC_ASYNCIO_INTERNAL_FRAME_CACHE_H_
#define PYCONC_ASYNCIO_INTERNAL_FRAME_CACHE_H_

#include <cstddef>
#include <new>

namespace pyconc::asyncio::internal {

struct FrameCache {
  static constexpr std::size_t kGranule = 16;
  static constexpr std::size_t kClasses = 48;
  // Class c holds blocks of c * 16 + 8 bytes: glibc's malloc puts an 8-byte
  // header before each block and rounds the two to 16, so such a block fills
  // its chunk with nothing wasted (a block of c * 16 bytes would waste 8).
  static std::size_t ClassOf(std::size_t size) {
    return (size + kHeader - 1) / kGranule;
  }
  static std::size_t BlockSize(std::size_t c) { return c * kGranule + kHeader; }
  static constexpr std::size_t kHeader = 8;
  static constexpr unsigned kMaxCached = 4096;
  struct Free {
    Free* next;
  };
  Free* heads[kClasses];
  unsigned counts[kClasses];
  bool cleanup_registered;
};
inline constinit thread_local FrameCache frame_cache{};
void RegisterFrameCacheCleanup();

// Sanitizers must see every frame allocated and freed: AddressSanitizer to
// catch a use after free, ThreadSanitizer because a recycled block carries the
// access history of its last owner, which it would report as races.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kCacheFrames = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kCacheFrames = false;
#else
inline constexpr bool kCacheFrames = true;
#endif
#else
inline constexpr bool kCacheFrames = true;
#endif

inline void* AllocateFrame(std::size_t size) {
  const std::size_t c = FrameCache::ClassOf(size);
  if (!kCacheFrames || c >= FrameCache::kClasses) return ::operator new(size);
  FrameCache::Free* block = frame_cache.heads[c];
  if (block != nullptr) [[likely]] {
    frame_cache.heads[c] = block->next;
    --frame_cache.counts[c];
    return block;
  }
  return ::operator new(FrameCache::BlockSize(c));
}

// Frees a block of class `c`, FrameCache::ClassOf(its size): what a task
// keeps instead of its block's size. A class of kClasses or more was not
// cached.
inline void FreeFrameOfClass(void* frame, std::size_t c) noexcept {
  if (!kCacheFrames || c >= FrameCache::kClasses ||
      frame_cache.counts[c] >= FrameCache::kMaxCached) {
    ::operator delete(frame);
    return;
  }
  if (!frame_cache.cleanup_registered) [[unlikely]] {
    RegisterFrameCacheCleanup();
  }
  auto* block = static_cast<FrameCache::Free*>(frame);
  block->next = frame_cache.heads[c];
  frame_cache.heads[c] = block;
  ++frame_cache.counts[c];
}

inline void FreeFrame(void* frame, std::size_t size) noexcept {
  FreeFrameOfClass(frame, FrameCache::ClassOf(size));
}

}  // namespace pyconc::asyncio::internal

#endif  // PYCONC_ASYNCIO_INTERNAL_FRAME_CACHE_H_
