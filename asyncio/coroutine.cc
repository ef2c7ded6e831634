#include "asyncio/coroutine.h"

#include <cstddef>
#include <cstdio>
#include <new>
#include <string>

#include "absl/base/config.h"
#include "asyncio/debug.h"
#include "tools/misuse/misuse.h"

namespace pyconc::asyncio::internal {
namespace {

// Frames are recycled per thread in size classes of 16 bytes up to 512, at
// most kMaxCached per class: a coroutine that is called and awaited in a loop
// reuses one frame instead of calling malloc each time.
constexpr size_t kGranule = 16;
constexpr size_t kClasses = 32;
constexpr unsigned kMaxCached = 4096;

struct FreeFrameNode {
  FreeFrameNode* next;
};

// Trivially destructible, so that reaching it costs no TLS guard; the
// CacheOwner below frees what is left when the thread exits.
struct FrameCache {
  FreeFrameNode* heads[kClasses];
  unsigned counts[kClasses];
};
constinit thread_local FrameCache cache{};

struct CacheOwner {
  ~CacheOwner() {
    for (size_t c = 0; c < kClasses; ++c) {
      while (cache.heads[c] != nullptr) {
        FreeFrameNode* node = cache.heads[c];
        cache.heads[c] = node->next;
        ::operator delete(node);
      }
      cache.counts[c] = 0;
    }
  }
  bool active = false;
};
thread_local CacheOwner owner;

#if defined(ABSL_HAVE_ADDRESS_SANITIZER)
constexpr bool kCacheFrames = false;  // Keep use-after-free detectable.
#else
constexpr bool kCacheFrames = true;
#endif

}  // namespace

void* AllocateFrame(std::size_t size) {
  const size_t c = (size + kGranule - 1) / kGranule - 1;
  if (!kCacheFrames || c >= kClasses) return ::operator new(size);
  FreeFrameNode* node = cache.heads[c];
  if (node != nullptr) {
    cache.heads[c] = node->next;
    --cache.counts[c];
    return node;
  }
  return ::operator new((c + 1) * kGranule);
}

void FreeFrame(void* frame, std::size_t size) noexcept {
  const size_t c = (size + kGranule - 1) / kGranule - 1;
  if (!kCacheFrames || c >= kClasses || cache.counts[c] >= kMaxCached) {
    ::operator delete(frame);
    return;
  }
  if (cache.counts[c] == 0) owner.active = true;  // Registers the cleanup.
  auto* node = static_cast<FreeFrameNode*>(frame);
  node->next = cache.heads[c];
  cache.heads[c] = node;
  ++cache.counts[c];
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
