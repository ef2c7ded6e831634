#include "sync/lock/rlock.h"

#include "sync/internal/timeout.h"
#include "tools/misuse/misuse.h"

namespace pyconc::sync {

void RLock::Acquire() { Acquire(/*blocking=*/true); }

bool RLock::Acquire(bool blocking, absl::Duration timeout) {
  const absl::Time deadline = internal::AcquireDeadline(blocking, timeout);
  if (IsOwned()) {
    ++count_;
    return true;
  }
  if (!permits_.Acquire(deadline)) return false;
  owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  count_ = 1;
  return true;
}

void RLock::Release() {
  if (!IsOwned()) {
    pyconc::internal::Misuse("RuntimeError", "cannot release un-acquired lock");
  }
  if (--count_ == 0) ReleaseSave();
}

bool RLock::IsOwned() const {
  return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
}

int64_t RLock::ReleaseSave() {
  const int64_t count = count_;
  count_ = 0;
  owner_.store(std::thread::id(), std::memory_order_relaxed);
  permits_.Release(1, /*max=*/1);
  return count;
}

void RLock::AcquireRestore(int64_t count) {
  permits_.Acquire(absl::InfiniteFuture());
  owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  count_ = count;
}

}  // namespace pyconc::sync
