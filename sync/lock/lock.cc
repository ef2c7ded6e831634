#include "sync/lock/lock.h"

#include "base/misuse.h"
#include "base/spin_wait.h"
#include "sync/internal/timeout.h"

namespace pyconc::sync {

using ::pyconc::internal::SpinWait;

void Lock::Acquire() {
  permits_.Acquire(absl::InfiniteFuture(), SpinWait::kMutexLooks);
}

bool Lock::Acquire(bool blocking, absl::Duration timeout) {
  return permits_.Acquire(internal::AcquireDeadline(blocking, timeout),
                          SpinWait::kMutexLooks);
}

void Lock::Release() {
  if (!permits_.Release(1, /*max=*/1)) {
    pyconc::internal::Misuse("RuntimeError", "release unlocked lock");
  }
}

}  // namespace pyconc::sync
