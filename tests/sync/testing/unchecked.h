// Lock calls hidden from clang's -Wthread-safety, for tests that do on purpose
// what the analysis rejects: acquiring recursively, releasing on another thread
// than the acquirer, or acquiring inside a gtest assertion.

#ifndef PYCONC_TESTS_SYNC_TESTING_UNCHECKED_H_
#define PYCONC_TESTS_SYNC_TESTING_UNCHECKED_H_

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "tests/sync/testing/bunch.h"

namespace pyconc::sync::testing {

template <typename L>
void UncheckedAcquire(L& lock) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  lock.Acquire();
}

template <typename L>
bool UncheckedAcquire(L& lock, bool blocking,
                      absl::Duration timeout = absl::InfiniteDuration())
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return lock.Acquire(blocking, timeout);
}

template <typename L>
void UncheckedRelease(L& lock) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  lock.Release();
}

// Python's `with lock:`, unannotated, so it may nest on an RLock.
template <typename L>
class UncheckedGuard {
 public:
  explicit UncheckedGuard(L& lock) : lock_(lock) { UncheckedAcquire(lock_); }
  UncheckedGuard(const UncheckedGuard&) = delete;
  UncheckedGuard& operator=(const UncheckedGuard&) = delete;
  ~UncheckedGuard() { UncheckedRelease(lock_); }

 private:
  L& lock_;
};

// Has `threads` threads add 1 to one counter `increments` times each, holding
// `lock` `depth` levels deep around each addition; returns the final count.
template <typename L>
int CountUnderLock(L& lock, int threads, int increments, int depth) {
  int counter = 0;
  Bunch(threads, [&](int) {
    for (int i = 0; i < increments; ++i) {
      for (int level = 0; level < depth; ++level) UncheckedAcquire(lock);
      ++counter;
      for (int level = 0; level < depth; ++level) UncheckedRelease(lock);
    }
  });
  UncheckedGuard guard(lock);
  return counter;
}

}  // namespace pyconc::sync::testing

#endif  // PYCONC_TESTS_SYNC_TESTING_UNCHECKED_H_
