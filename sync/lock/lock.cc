#include "sync/lock/lock.h"

#include "base/misuse.h"
#include "sync/internal/timeout.h"

namespace pyconc::sync {

void Lock::Acquire() { permits_.Acquire(absl::InfiniteFuture()); }

bool Lock::Acquire(bool blocking, absl::Duration timeout) {
  return permits_.Acquire(internal::AcquireDeadline(blocking, timeout));
}

void Lock::Release() {
  if (!permits_.Release(1, /*max=*/1)) {
    pyconc::internal::Misuse("RuntimeError", "release unlocked lock");
  }
}

}  // namespace pyconc::sync
