// Asymmetric fences, for a handshake where one side runs at every item and the
// other only before it sleeps.
//
// A waker publishes progress, then checks for sleepers; a sleeper announces
// itself, then checks for progress. Each needs its store ordered before its
// load (a full fence), or both may miss the other and the sleeper never wakes.
// Where Linux offers membarrier(2), the sleeper's HeavyFence() makes every
// running thread of the process execute a full fence, so the waker's
// LightFence() need only stop the compiler from reordering: the fence moves off
// the hot path. This is folly's asymmetric_thread_fence_{light,heavy}. Without
// membarrier both are ordinary sequentially consistent fences.
//
// Thread-safe.

#ifndef PYCONC_QUEUE_INTERNAL_FENCE_H_
#define PYCONC_QUEUE_INTERNAL_FENCE_H_

#include <atomic>

#include "absl/base/config.h"

namespace pyconc::queue::internal {

// A sequentially consistent fence. ThreadSanitizer does not model
// std::atomic_thread_fence (GCC rejects it there), so under it a sequentially
// consistent read-modify-write, a full fence on every CPU pyconc runs on,
// stands in.
inline void FullFence() {
#ifdef ABSL_HAVE_THREAD_SANITIZER
  static std::atomic<int> stand_in{0};
  stand_in.fetch_add(0, std::memory_order_seq_cst);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

// Whether HeavyFence() uses membarrier(2); decided once per process.
bool HaveMembarrier();

// Orders the caller's earlier memory operations before its later ones, against
// threads calling HeavyFence(). Cheap: a compiler barrier with membarrier.
inline void LightFence() {
  if (HaveMembarrier()) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  } else {
    FullFence();
  }
}

// A full fence in the caller and, with membarrier, in every running thread of
// the process. Costs a system call (about a microsecond).
void HeavyFence();

}  // namespace pyconc::queue::internal

#endif  // PYCONC_QUEUE_INTERNAL_FENCE_H_
