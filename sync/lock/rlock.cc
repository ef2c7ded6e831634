#include "sync/lock/rlock.h"

#include "sync/internal/timeout.h"
#include "base/misuse.h"

namespace pyconc::sync {
namespace {

// The calling thread's identity: the address of a thread_local, which no two
// live threads share. Reading it costs an instruction or two, where
// std::this_thread::get_id() is a call into libc; an RLock asks it on every
// Acquire() and Release().
const void* CurrentThread() {
  static thread_local const char tag = 0;
  return &tag;
}

}  // namespace

// The untimed Acquire() skips the timeout checks: it is what `with rlock:`
// costs.
void RLock::Acquire() { AcquireUntil(absl::InfiniteFuture()); }

bool RLock::Acquire(bool blocking, absl::Duration timeout) {
  return AcquireUntil(internal::AcquireDeadline(blocking, timeout));
}

bool RLock::AcquireUntil(absl::Time deadline) {
  const void* const me = CurrentThread();
  if (owner_.load(std::memory_order_relaxed) == me) {
    ++count_;
    return true;
  }
  if (!TakeIfFree(me) && !TakeWhenFree(me, deadline)) return false;
  count_ = 1;
  return true;
}

bool RLock::TakeIfFree(const void* me) {
  const void* free = nullptr;
  return owner_.compare_exchange_strong(free, me, std::memory_order_seq_cst,
                                        std::memory_order_relaxed);
}

bool RLock::TakeWhenFree(const void* me, absl::Time deadline) {
  auto free = [this] {
    return owner_.load(std::memory_order_seq_cst) == nullptr;
  };
  return lot_.TakeWhenReady(
      free, [this, me] { return TakeIfFree(me); }, deadline);
}

void RLock::Release() {
  if (!IsOwned()) {
    pyconc::internal::Misuse("RuntimeError", "cannot release un-acquired lock");
  }
  if (--count_ == 0) ReleaseSave();
}

bool RLock::IsOwned() const {
  return owner_.load(std::memory_order_relaxed) == CurrentThread();
}

int64_t RLock::ReleaseSave() {
  const int64_t count = count_;
  count_ = 0;
  // Sequentially consistent, before WakeAll() reads the sleeper count.
  owner_.store(nullptr, std::memory_order_seq_cst);
  lot_.WakeAll();
  return count;
}

void RLock::AcquireRestore(int64_t count) {
  const void* const me = CurrentThread();
  if (!TakeIfFree(me)) TakeWhenFree(me, absl::InfiniteFuture());
  count_ = count;
}

}  // namespace pyconc::sync
