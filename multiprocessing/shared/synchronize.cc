#include "multiprocessing/shared/synchronize.h"

#include <unistd.h>

#include <climits>

#include "base/errors.h"
#include "base/futex.h"
#include "base/misuse.h"
#include "sync/internal/timeout.h"

namespace pyconc::multiprocessing {
namespace internal {
namespace {

// Every word here is in memory that other processes map.
constexpr auto kShared = pyconc::internal::FutexScope::kShared;

// The calling thread's kernel id, unique among the live threads of every
// process. Asked of the kernel each time, because a cached copy would be
// wrong in a child of the fork server.
uint32_t ThreadId() { return static_cast<uint32_t>(::gettid()); }

// Sleeps on `word` while it holds `seen`, counted in `sleepers` so that the
// waker knows to call the kernel; false when `deadline` passed.
bool Sleep(const std::atomic<uint32_t>& word, uint32_t seen,
           std::atomic<uint32_t>& sleepers, absl::Time deadline) {
  sleepers.fetch_add(1, std::memory_order_seq_cst);
  bool woke = true;
  if (word.load(std::memory_order_seq_cst) == seen) {
    woke = pyconc::internal::FutexWait(&word, seen, deadline, kShared);
  }
  sleepers.fetch_sub(1, std::memory_order_seq_cst);
  return woke;
}

// Wakes up to `count` sleepers on `word` if there are any.
void Wake(const std::atomic<uint32_t>& word,
          const std::atomic<uint32_t>& sleepers, int count) {
  if (sleepers.load(std::memory_order_seq_cst) > 0) {
    pyconc::internal::FutexWake(&word, count, kShared);
  }
}

}  // namespace

bool PermitsBlock::TryAcquire() {
  uint32_t current = value.load(std::memory_order_seq_cst);
  while (current > 0) {
    if (value.compare_exchange_weak(current, current - 1,
                                    std::memory_order_seq_cst)) {
      return true;
    }
  }
  return false;
}

bool PermitsBlock::Acquire(absl::Time deadline) {
  while (!TryAcquire()) {
    if (deadline == absl::InfinitePast()) return false;
    if (!Sleep(value, 0, sleepers, deadline)) return TryAcquire();
  }
  return true;
}

bool PermitsBlock::Release(uint32_t n, uint32_t max) {
  uint32_t current = value.load(std::memory_order_relaxed);
  do {
    if (current > max - n) return false;
  } while (!value.compare_exchange_weak(current, current + n,
                                        std::memory_order_seq_cst,
                                        std::memory_order_relaxed));
  Wake(value, sleepers, static_cast<int>(n));
  return true;
}

}  // namespace internal

namespace {

[[noreturn]] void ReleasedTooManyTimes() {
  pyconc::internal::Misuse("ValueError",
                           "semaphore or lock released too many times");
}

}  // namespace

// Lock.

void Lock::Acquire() { block_->Acquire(absl::InfiniteFuture()); }

bool Lock::Acquire(bool blocking, absl::Duration timeout) {
  return block_->Acquire(sync::internal::AcquireDeadline(blocking, timeout));
}

void Lock::Release() {
  if (!block_->Release(1, 1)) ReleasedTooManyTimes();
}

// RLock.

void RLock::Acquire() { AcquireUntil(absl::InfiniteFuture()); }

bool RLock::Acquire(bool blocking, absl::Duration timeout) {
  return AcquireUntil(sync::internal::AcquireDeadline(blocking, timeout));
}

bool RLock::AcquireUntil(absl::Time deadline) {
  const uint32_t me = internal::ThreadId();
  internal::RLockBlock& block = *block_;
  uint32_t owner = block.owner.load(std::memory_order_relaxed);
  if (owner == me) {
    ++block.count;
    return true;
  }
  for (;;) {
    owner = 0;
    if (block.owner.compare_exchange_strong(owner, me,
                                            std::memory_order_seq_cst)) {
      block.count = 1;
      return true;
    }
    if (deadline == absl::InfinitePast()) return false;
    if (!internal::Sleep(block.owner, owner, block.sleepers, deadline)) {
      owner = 0;
      if (block.owner.compare_exchange_strong(owner, me,
                                              std::memory_order_seq_cst)) {
        block.count = 1;
        return true;
      }
      return false;
    }
  }
}

void RLock::Release() {
  if (!IsOwned()) {
    pyconc::internal::Misuse("AssertionError",
                             "attempt to release recursive lock not owned by "
                             "thread");
  }
  if (--block_->count == 0) {
    block_->owner.store(0, std::memory_order_seq_cst);
    internal::Wake(block_->owner, block_->sleepers, 1);
  }
}

bool RLock::IsOwned() const {
  return block_->owner.load(std::memory_order_relaxed) == internal::ThreadId();
}

uint32_t RLock::ReleaseSave() {
  const uint32_t count = block_->count;
  block_->count = 1;
  Release();
  return count;
}

void RLock::AcquireRestore(uint32_t count) {
  Acquire();
  block_->count = count;
}

// Semaphore.

Semaphore::Semaphore(int64_t value, int64_t max_value)
    : block_(std::in_place, static_cast<uint32_t>(value < 0 ? 0 : value)),
      max_value_(max_value) {
  if (value < 0 || value > kMaxValue) {
    pyconc::internal::Misuse("ValueError", "invalid value");
  }
}

void Semaphore::Acquire() { block_->Acquire(absl::InfiniteFuture()); }

bool Semaphore::Acquire(bool blocking, absl::Duration timeout) {
  return block_->Acquire(sync::internal::AcquireDeadline(blocking, timeout));
}

void Semaphore::Release(int64_t n) {
  if (n < 1 || n > max_value_) {
    if (n < 1) pyconc::internal::Misuse("ValueError", "n must be one or more");
    ReleasedTooManyTimes();
  }
  if (!block_->Release(static_cast<uint32_t>(n),
                       static_cast<uint32_t>(max_value_))) {
    ReleasedTooManyTimes();
  }
}

// Event.

bool Event::IsSet() const {
  return (block_->state.load(std::memory_order_acquire) & 1) != 0;
}

void Event::Set() {
  uint32_t state = block_->state.load(std::memory_order_relaxed);
  do {
    if ((state & 1) != 0) return;
  } while (!block_->state.compare_exchange_weak(state, (state | 1) + 2,
                                                std::memory_order_seq_cst,
                                                std::memory_order_relaxed));
  internal::Wake(block_->state, block_->sleepers, INT_MAX);
}

void Event::Clear() {
  block_->state.fetch_and(~uint32_t{1}, std::memory_order_seq_cst);
}

bool Event::Wait(absl::Duration timeout) {
  sync::internal::CheckTimeout(timeout);
  const uint32_t seen = block_->state.load(std::memory_order_seq_cst);
  if ((seen & 1) != 0) return true;
  const absl::Time deadline = timeout == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + timeout;
  // From a clear word, only Set() changes it: any change means "was set".
  while (block_->state.load(std::memory_order_seq_cst) == seen) {
    if (!internal::Sleep(block_->state, seen, block_->sleepers, deadline)) {
      break;
    }
  }
  return block_->state.load(std::memory_order_seq_cst) != seen;
}

// Condition.

void Condition::Acquire() {
  if (RLock* rlock = std::get_if<RLock>(&lock_)) {
    rlock->Acquire();
  } else {
    std::get<Lock>(lock_).Acquire();
  }
}

bool Condition::Acquire(bool blocking, absl::Duration timeout) {
  if (RLock* rlock = std::get_if<RLock>(&lock_)) {
    return rlock->Acquire(blocking, timeout);
  }
  return std::get<Lock>(lock_).Acquire(blocking, timeout);
}

void Condition::Release() {
  if (RLock* rlock = std::get_if<RLock>(&lock_)) {
    rlock->Release();
  } else {
    std::get<Lock>(lock_).Release();
  }
}

bool Condition::IsOwned() const {
  if (const RLock* rlock = std::get_if<RLock>(&lock_)) {
    return rlock->IsOwned();
  }
  return std::get<Lock>(lock_).Locked();
}

uint32_t Condition::ReleaseSave() {
  if (RLock* rlock = std::get_if<RLock>(&lock_)) return rlock->ReleaseSave();
  std::get<Lock>(lock_).Release();
  return 1;
}

void Condition::AcquireRestore(uint32_t saved) {
  if (RLock* rlock = std::get_if<RLock>(&lock_)) {
    rlock->AcquireRestore(saved);
  } else {
    std::get<Lock>(lock_).Acquire();
  }
}

void Condition::CheckOwned(const char* what) const {
  if (!IsOwned()) pyconc::internal::Misuse("AssertionError", what);
}

void Condition::Compact() {
  internal::ConditionBlock& block = *block_;
  while (block.head != block.tail &&
         block.slot(block.head).load(std::memory_order_relaxed) ==
             internal::ConditionBlock::kFree) {
    ++block.head;
  }
}

bool Condition::Wait(absl::Duration timeout) {
  CheckOwned("must acquire() condition before using wait()");
  sync::internal::CheckTimeout(timeout);
  const absl::Time deadline = timeout == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + timeout;
  internal::ConditionBlock& block = *block_;
  using Block = internal::ConditionBlock;
  Compact();
  if (block.tail - block.head == Block::kCapacity) {
    pyconc::internal::Misuse("RuntimeError",
                             "more than 1024 threads wait on one Condition");
  }
  const uint32_t ticket = block.tail++;
  std::atomic<uint32_t>& slot = block.slot(ticket);
  slot.store(Block::kWaiting, std::memory_order_seq_cst);
  const uint32_t saved = ReleaseSave();
  while (slot.load(std::memory_order_acquire) == Block::kWaiting) {
    if (!pyconc::internal::FutexWait(&slot, Block::kWaiting, deadline,
                                     internal::kShared)) {
      break;
    }
  }
  AcquireRestore(saved);
  // Under the lock again: Notify() chose this waiter or it did not.
  const bool notified =
      slot.load(std::memory_order_relaxed) == Block::kNotified;
  slot.store(Block::kFree, std::memory_order_relaxed);
  Compact();
  return notified;
}

void Condition::Notify(int n) {
  CheckOwned("lock is not owned");
  internal::ConditionBlock& block = *block_;
  using Block = internal::ConditionBlock;
  for (uint32_t ticket = block.head; n > 0 && ticket != block.tail; ++ticket) {
    std::atomic<uint32_t>& slot = block.slot(ticket);
    if (slot.load(std::memory_order_relaxed) != Block::kWaiting) continue;
    slot.store(Block::kNotified, std::memory_order_release);
    pyconc::internal::FutexWake(&slot, 1, internal::kShared);
    --n;
  }
}

void Condition::NotifyAll() { Notify(INT_MAX); }

// Barrier: sync::Barrier's algorithm (see sync/barrier/barrier.cc) under a
// process-shared mutex, with waiters sleeping on the `changes` word.

// Holds the barrier's mutex for a scope; Await() sleeps until the state
// changes.
class Barrier::Locked {
 public:
  explicit Locked(internal::BarrierBlock& block) : block_(block) {
    block_.mu.Acquire(absl::InfiniteFuture());
  }
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;
  ~Locked() { block_.mu.Release(1, 1); }

  // Waits, with the mutex released, until `ready()` or `deadline`; whether
  // ready() held.
  template <typename Ready>
  bool Await(const Ready& ready, absl::Time deadline) {
    while (!ready()) {
      const uint32_t seen = block_.changes.load(std::memory_order_seq_cst);
      block_.mu.Release(1, 1);
      const bool woke =
          internal::Sleep(block_.changes, seen, block_.sleepers, deadline);
      block_.mu.Acquire(absl::InfiniteFuture());
      if (!woke) return ready();
    }
    return true;
  }
  // Records a change of state and wakes every sleeper.
  void Changed() {
    block_.changes.fetch_add(1, std::memory_order_seq_cst);
    internal::Wake(block_.changes, block_.sleepers, INT_MAX);
  }

 private:
  internal::BarrierBlock& block_;
};

namespace {

absl::Status Broken() {
  return MakeError(PythonError::kBrokenBarrierError, "the barrier is broken");
}

}  // namespace

Barrier::Barrier(int parties, BarrierOptions options)
    : block_(std::in_place),
      parties_(parties),
      action_(options.action),
      default_timeout_(options.timeout) {
  if (parties < 1) {
    pyconc::internal::Misuse("ValueError", "parties must be >= 1");
  }
  sync::internal::CheckTimeout(default_timeout_);
}

absl::StatusOr<int> Barrier::Wait(absl::Duration timeout) {
  using Block = internal::BarrierBlock;
  sync::internal::CheckTimeout(timeout);
  const absl::Time deadline = timeout == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + timeout;
  Block& block = *block_;
  Locked locked(block);
  // Arrivals for the next round wait until the previous one has left.
  locked.Await(
      [&] {
        return block.state == Block::kFilling || block.state == Block::kBroken;
      },
      absl::InfiniteFuture());
  if (block.state == Block::kBroken) return Broken();
  const int index = block.count++;
  absl::Status status;
  if (index + 1 == parties_) {
    if (action_ != nullptr) {
      try {
        action_();
      } catch (...) {
        // As sync::Barrier: the barrier breaks and the thread that ran the
        // action gets its exception.
        block.state = Block::kBroken;
        --block.count;
        locked.Changed();
        throw;
      }
    }
    block.state = Block::kDraining;
    ++block.rounds;
    locked.Changed();
  } else {
    const uint64_t round = block.rounds;
    if (!locked.Await([&] { return block.state != Block::kFilling; },
                      deadline)) {
      block.state = Block::kBroken;
      locked.Changed();
      status = Broken();
    } else if (block.rounds == round) {
      status = Broken();
    }
  }
  // The last to leave a finished or reset round opens the next one.
  if (--block.count == 0 &&
      (block.state == Block::kDraining || block.state == Block::kResetting)) {
    block.state = Block::kFilling;
    locked.Changed();
  }
  if (!status.ok()) return status;
  return index;
}

void Barrier::Reset() {
  using Block = internal::BarrierBlock;
  Block& block = *block_;
  Locked locked(block);
  if (block.count > 0) {
    if (block.state == Block::kFilling || block.state == Block::kBroken) {
      block.state = Block::kResetting;
    }
  } else {
    block.state = Block::kFilling;
  }
  locked.Changed();
}

void Barrier::Abort() {
  Locked locked(*block_);
  block_->state = internal::BarrierBlock::kBroken;
  locked.Changed();
}

int Barrier::n_waiting() const {
  Locked locked(*block_);
  return block_->state == internal::BarrierBlock::kFilling ? block_->count : 0;
}

bool Barrier::broken() const {
  Locked locked(*block_);
  return block_->state == internal::BarrierBlock::kBroken;
}

}  // namespace pyconc::multiprocessing
