#include "sync/lock/rlock.h"

#include "base/misuse.h"
#include "sync/internal/parking_lot.h"
#include "sync/internal/single_threaded.h"
#include "sync/internal/timeout.h"

namespace pyconc::sync {
namespace {

// The calling thread's identity: the address of a thread_local, which no two
// live threads share, and which is even (its low bit is the sleeper bit).
// Reading it costs an instruction or two, where std::this_thread::get_id() is
// a call into libc; an RLock asks it on every Acquire() and Release().
uintptr_t CurrentThread() {
  static thread_local const int64_t tag = 0;
  return reinterpret_cast<uintptr_t>(&tag);
}

}  // namespace

// The untimed Acquire() skips the timeout checks: it is what `with rlock:`
// costs.
void RLock::Acquire() { AcquireUntil(absl::InfiniteFuture()); }

bool RLock::Acquire(bool blocking, absl::Duration timeout) {
  return AcquireUntil(internal::AcquireDeadline(blocking, timeout));
}

bool RLock::AcquireUntil(absl::Time deadline) {
  const uintptr_t me = CurrentThread();
  if ((owner_.load(std::memory_order_relaxed) & ~kSleepers) == me) {
    ++count_;
    return true;
  }
  if (!TakeIfFree(me) && !TakeWhenFree(me, deadline)) return false;
  count_ = 1;
  return true;
}

bool RLock::TakeIfFree(uintptr_t me) {
  if (internal::SingleThreaded()) {
    // Nobody else can be parked or racing; a deadline may have left the bit.
    if ((owner_.load(std::memory_order_relaxed) & ~kSleepers) != 0) {
      return false;
    }
    owner_.store(me, std::memory_order_relaxed);
    return true;
  }
  uintptr_t seen = 0;
  if (owner_.compare_exchange_strong(seen, me, std::memory_order_seq_cst,
                                     std::memory_order_relaxed)) {
    return true;
  }
  // Free, with threads parked: keep the bit for them.
  return seen == kSleepers &&
         owner_.compare_exchange_strong(seen, me | kSleepers,
                                        std::memory_order_seq_cst,
                                        std::memory_order_relaxed);
}

bool RLock::TakeWhenFree(uintptr_t me, absl::Time deadline) {
  auto free = [this] {
    return (owner_.load(std::memory_order_seq_cst) & ~kSleepers) == 0;
  };
  return internal::ParkingLot::TakeWhenReady(
      owner_, kSleepers, free, [this, me] { return TakeIfFree(me); }, deadline,
      pyconc::internal::SpinWait::kMutexLooks);
}

void RLock::Release() {
  if (!IsOwned()) {
    pyconc::internal::Misuse("RuntimeError", "cannot release un-acquired lock");
  }
  if (--count_ == 0) ReleaseSave();
}

bool RLock::IsOwned() const {
  return (owner_.load(std::memory_order_relaxed) & ~kSleepers) ==
         CurrentThread();
}

int64_t RLock::ReleaseSave() {
  const int64_t count = count_;
  count_ = 0;
  // The last access to the RLock: its address is the parked threads' key.
  uintptr_t owner;
  if (internal::SingleThreaded()) {
    owner = owner_.load(std::memory_order_relaxed);
    owner_.store(0, std::memory_order_relaxed);
  } else {
    owner = owner_.exchange(0, std::memory_order_seq_cst);
  }
  if ((owner & kSleepers) != 0) {
    internal::ParkingLot::WakeAll(&owner_);
  }
  return count;
}

void RLock::AcquireRestore(int64_t count) {
  const uintptr_t me = CurrentThread();
  if (!TakeIfFree(me)) TakeWhenFree(me, absl::InfiniteFuture());
  count_ = count;
}

}  // namespace pyconc::sync
