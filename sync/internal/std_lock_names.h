// StdLockNames: the C++ standard's lock vocabulary for a Python-style lock.
//
// Deriving `class L : public StdLockNames<L>` gives L the BasicLockable,
// Lockable and TimedLockable member names (lock, unlock, try_lock,
// try_lock_for, try_lock_until), forwarded to L's Acquire() and Release(), so
// std::scoped_lock, std::unique_lock and std::condition_variable_any accept an
// L. Thread-safety is L's. The bodies are not analysed (clang cannot see that
// the derived object is this capability); callers are.

#ifndef PYCONC_SYNC_INTERNAL_STD_LOCK_NAMES_H_
#define PYCONC_SYNC_INTERNAL_STD_LOCK_NAMES_H_

#include <chrono>

#include "absl/base/thread_annotations.h"
#include "sync/internal/timeout.h"

namespace pyconc::sync::internal {

template <typename L>
class ABSL_LOCKABLE StdLockNames {
 public:
  // BasicLockable: blocks until acquired / releases.
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    self().Acquire();
  }
  void unlock() ABSL_UNLOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    self().Release();
  }
  // Lockable: acquires only if that needs no waiting.
  bool try_lock()
      ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return self().Acquire(/*blocking=*/false);
  }
  // TimedLockable: waits at most `timeout`, or until `deadline` on any clock.
  template <typename Rep, typename Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& timeout)
      ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return self().Acquire(/*blocking=*/true, FromChronoTimeout(timeout));
  }
  template <typename Clock, typename Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& deadline)
      ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return try_lock_for(deadline - Clock::now());
  }

 private:
  L& self() { return static_cast<L&>(*this); }
};

}  // namespace pyconc::sync::internal

#endif  // PYCONC_SYNC_INTERNAL_STD_LOCK_NAMES_H_
