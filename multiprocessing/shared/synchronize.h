// Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition and Barrier
// across processes: Python's multiprocessing.synchronize for C++, with the
// API of //sync's thread primitives.
//
//   Python                                  pyconc
//   lock = multiprocessing.Lock()           multiprocessing::Lock lock;
//   Process(target=f, args=(lock,))         Process p(&F, lock);
//   with lock: ...                          { sync::Guard guard(lock); ... }
//   lock.acquire(timeout=0.5)               lock.Acquire(true,
//                                                        absl::Milliseconds(500));
//   RLock(), Semaphore(3), BoundedSemaphore(3), Event(), Condition(lock),
//   Barrier(3)                              the same names, the same members as
//                                           sync::RLock, sync::Semaphore, ...
//
// Each object lives in a small block of shared memory (internal/segment.h).
// Give it to a Process as an argument and the child's copy is the same lock,
// as in Python; copies of the object within one process are the same lock
// too (a handle, like Queue). As in Python, these objects cross only as
// Process arguments: sending one through a Queue or a Connection fails to
// serialize (Python's "Lock objects should only be shared between processes
// through inheritance").
//
// Why futexes on a word in shared memory, rather than POSIX process-shared
// semaphores or mutexes: a pthread mutex must be unlocked by its owner, while
// Python's Lock, like //sync's, may be released by any thread of any process;
// sem_t has no owner but cannot express RLock's owner, Event's "set while I
// waited" or Condition's FIFO hand-off; and a futex word keeps each primitive
// one atomic operation uncontended, with the same algorithms as //sync. The
// cost is Linux only, which pyconc is.
//
// Memory ordering, as for //sync: what a process wrote to shared memory
// (SharedMemory, Value, Array) before Release() or Set() is visible to the
// process whose Acquire() or Wait() succeeds because of it.
//
// Misuse aborts with the error Python raises: releasing an unlocked Lock or a
// BoundedSemaphore above its value (ValueError), releasing an RLock the
// calling thread does not hold, waiting on or notifying a Condition whose
// lock is not held (AssertionError), negative timeouts (ValueError).
//
// When a process dies while it holds a Lock (killed, or it exits without
// releasing), the Lock stays held, as in Python: the kernel does not know who
// holds a futex word. Another process may still Release() a Lock or a
// Semaphore (they have no owner) to recover; an RLock whose owner died stays
// held (until a new thread happens to get the dead one's id and so owns it). A
// process killed while it waits in Condition::Wait() keeps its place in the
// queue, and a later Notify() may choose it.
//
// Lifetime: each handle keeps its block of shared memory mapped, and the
// block is gone once no handle in any process is left. Unlike //sync's
// primitives, a handle may not be destroyed while another thread is inside a
// call on that same handle (Release() reads the block after it publishes);
// a thread that wants to destroy the lock right after taking it holds a copy
// of its own, which costs a reference count.
//
// Thread-safety: every member may be called from any thread of any process
// that holds the object, as for //sync. Fork-safety: nothing here forks.

#ifndef PYCONC_MULTIPROCESSING_SHARED_SYNCHRONIZE_H_
#define PYCONC_MULTIPROCESSING_SHARED_SYNCHRONIZE_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <variant>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cereal/details/helpers.hpp"
#include "multiprocessing/process/process.h"
#include "multiprocessing/shared/internal/segment.h"
#include "sync/internal/std_lock_names.h"
#include "sync/lock/lock.h"  // sync::Guard, Python's `with`, works on these.

namespace pyconc::multiprocessing {

namespace internal {

// A handle to one control block `Block` in its own segment. Copies share the
// block; cereal carries the segment's descriptor.
template <typename Block>
class SharedBlock {
 public:
  // A new block, built with `args`.
  template <typename... Args>
  explicit SharedBlock(std::in_place_t, Args&&... args)
      : segment_(Segment::Create(sizeof(Block))),
        block_(new (segment_->data()) Block(std::forward<Args>(args)...)) {}
  // A handle that load() fills.
  explicit SharedBlock(LoadTag) {}

  Block& operator*() const { return *block_; }
  Block* operator->() const { return block_; }

  template <typename Archive>
  void save(Archive& archive) const {
    segment_->Save(archive);
  }
  template <typename Archive>
  void load(Archive& archive) {
    segment_ = Segment::Load(archive);
    if (segment_->size() < sizeof(Block)) {
      throw cereal::Exception("a shared block is smaller than its type");
    }
    block_ = ObjectIn<Block>(*segment_);
  }

 private:
  std::shared_ptr<const Segment> segment_;
  Block* block_ = nullptr;
};

// A count of permits in shared memory, taken one at a time: the engine of
// Lock, Semaphore and BoundedSemaphore (Python's SemLock), as sync::internal::
// Permits is //sync's. The count is the futex word; `sleepers` lets Release()
// skip the wake-up system call when nobody sleeps (a waiter counts itself and
// then reads the count, a releaser adds and then reads `sleepers`, both
// sequentially consistent, so one of them sees the other).
struct PermitsBlock {
  explicit PermitsBlock(uint32_t initial) : value(initial) {}

  // Takes a permit if one is free now.
  bool TryAcquire();
  // Takes a permit, waiting until `deadline` (InfinitePast: not at all).
  bool Acquire(absl::Time deadline);
  // Adds `n` permits unless that would pass `max`; false then.
  bool Release(uint32_t n, uint32_t max);

  std::atomic<uint32_t> value;
  std::atomic<uint32_t> sleepers{0};
};

// RLock's block: the owner's kernel thread id (unique among the live threads
// of every process), 0 when free, is the futex word.
struct RLockBlock {
  std::atomic<uint32_t> owner{0};
  std::atomic<uint32_t> sleepers{0};
  // Written and read only by the owner.
  uint32_t count = 0;
};

// Event's block: the flag in the low bit, above it how many times Set() turned
// it on (as sync::Event), so that a waiter wakes when the word changes.
struct EventBlock {
  std::atomic<uint32_t> state{0};
  std::atomic<uint32_t> sleepers{0};
};

}  // namespace internal

// Python's multiprocessing.Lock: sync::Lock's API across processes. Any thread
// of any process may release it. Releasing an unlocked Lock is misuse
// (Python's ValueError "semaphore or lock released too many times").
class ABSL_LOCKABLE Lock : public sync::internal::StdLockNames<Lock> {
 public:
  Lock() : block_(std::in_place, 1u) {}
  // For cereal: a Lock about to be loaded.
  explicit Lock(internal::LoadTag tag) : block_(tag) {}

  // Waits as long as it takes to acquire the lock.
  void Acquire() ABSL_EXCLUSIVE_LOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Python's acquire(blocking, timeout): whether the lock was acquired.
  bool Acquire(bool blocking, absl::Duration timeout = absl::InfiniteDuration())
      ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Releases the lock, from any thread or process.
  void Release() ABSL_UNLOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Whether some thread of some process holds it now (a snapshot).
  bool Locked() const {
    return block_->value.load(std::memory_order_acquire) == 0;
  }

  template <typename Archive>
  void serialize(Archive& archive) {
    archive(block_);
  }

 private:
  internal::SharedBlock<internal::PermitsBlock> block_;
};

class Condition;

// Python's multiprocessing.RLock: sync::RLock's API across processes. The
// owner is a thread (of one process); only it may release. Releasing an RLock
// the calling thread does not hold is misuse (Python's AssertionError).
class ABSL_LOCKABLE RLock : public sync::internal::StdLockNames<RLock> {
 public:
  RLock() : block_(std::in_place) {}
  // For cereal: an RLock about to be loaded.
  explicit RLock(internal::LoadTag tag) : block_(tag) {}

  // Acquires the lock, or adds one level when the calling thread owns it.
  void Acquire() ABSL_EXCLUSIVE_LOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Python's acquire(blocking, timeout): whether the lock was acquired.
  bool Acquire(bool blocking, absl::Duration timeout = absl::InfiniteDuration())
      ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Drops one level; the last one unlocks. Only the owner may call it.
  void Release() ABSL_UNLOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Whether some thread holds it now.
  bool Locked() const {
    return block_->owner.load(std::memory_order_acquire) != 0;
  }
  // Whether the calling thread holds it.
  bool IsOwned() const;
  // How many times the calling thread holds it; 0 for other threads.
  int64_t RecursionCount() const { return IsOwned() ? block_->count : 0; }

  template <typename Archive>
  void serialize(Archive& archive) {
    archive(block_);
  }

 private:
  friend class Condition;

  bool AcquireUntil(absl::Time deadline);
  // What Condition::Wait needs: release every level, and take them back.
  uint32_t ReleaseSave() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void AcquireRestore(uint32_t count) ABSL_NO_THREAD_SAFETY_ANALYSIS;

  internal::SharedBlock<internal::RLockBlock> block_;
};

// Python's multiprocessing.Semaphore: sync::Semaphore's API across processes.
// The value is at most 2^31 - 1 (Python's SEM_VALUE_MAX); a negative or larger
// value, and Release(n) with n < 1, are misuse (ValueError).
class Semaphore {
 public:
  // A semaphore with `value` permits.
  explicit Semaphore(int64_t value = 1) : Semaphore(value, kMaxValue) {}
  // For cereal: a Semaphore about to be loaded.
  explicit Semaphore(internal::LoadTag tag) : block_(tag) {}

  // Takes a permit, waiting as long as it takes.
  void Acquire();
  // Python's acquire(blocking, timeout): whether a permit was taken.
  bool Acquire(bool blocking,
               absl::Duration timeout = absl::InfiniteDuration());
  // Gives back `n` permits, waking up to n waiters in any process.
  void Release(int64_t n = 1);
  // The permits available now (Python's get_value()).
  int64_t value() const {
    return block_->value.load(std::memory_order_acquire);
  }

  template <typename Archive>
  void serialize(Archive& archive) {
    archive(block_, max_value_);
  }

 protected:
  Semaphore(int64_t value, int64_t max_value);

 private:
  static constexpr int64_t kMaxValue = 0x7fffffff;

  internal::SharedBlock<internal::PermitsBlock> block_;
  // Releasing above this is misuse.
  int64_t max_value_ = kMaxValue;
};

// Python's multiprocessing.BoundedSemaphore: never above its initial value.
class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(int64_t value = 1) : Semaphore(value, value) {}
  // For cereal: a BoundedSemaphore about to be loaded.
  explicit BoundedSemaphore(internal::LoadTag tag) : Semaphore(tag) {}
};

// Python's multiprocessing.Event: sync::Event's API across processes. Wait()
// returns true when the flag is set or was set while the caller waited.
class Event {
 public:
  Event() : block_(std::in_place) {}
  // For cereal: an Event about to be loaded.
  explicit Event(internal::LoadTag tag) : block_(tag) {}

  // Whether the flag is set.
  bool IsSet() const;
  // Sets the flag and wakes every waiter in every process.
  void Set();
  // Clears the flag.
  void Clear();
  // Waits until the flag is set or `timeout` passes; whether it was set.
  bool Wait(absl::Duration timeout = absl::InfiniteDuration());

  template <typename Archive>
  void serialize(Archive& archive) {
    archive(block_);
  }

 private:
  internal::SharedBlock<internal::EventBlock> block_;
};

namespace internal {

// Condition's block: a ring of waiter slots, each its own futex word, so that
// Notify(n) wakes exactly the n longest waiters. Guarded by the condition's
// lock, except that a waiter reads its own slot while it sleeps.
struct ConditionBlock {
  // How many threads (of all processes) may wait at once.
  static constexpr uint32_t kCapacity = 1024;
  enum Slot : uint32_t { kFree = 0, kWaiting = 1, kNotified = 2 };

  std::atomic<uint32_t>& slot(uint32_t ticket) {
    return slots[ticket % kCapacity];
  }

  uint32_t head = 0;  // The oldest ticket that may still be in use.
  uint32_t tail = 0;  // The next ticket to hand out.
  std::atomic<uint32_t> slots[kCapacity] = {};
};

}  // namespace internal

// Python's multiprocessing.Condition: sync::Condition's API across processes,
// over a multiprocessing Lock or RLock (its own RLock by default). Waiters are
// woken in the order they started waiting and Notify(n) wakes exactly n of
// them, as sync::Condition (stricter than Python, whose order is the
// semaphore's). At most 1024 threads may wait at once; one more is misuse.
class ABSL_LOCKABLE Condition : public sync::internal::StdLockNames<Condition> {
 public:
  // A condition with its own RLock (Python's Condition()).
  Condition() : Condition(RLock()) {}
  // A condition over `lock` (Python's Condition(lock)); the condition holds a
  // handle to the same lock.
  explicit Condition(Lock lock)
      : lock_(std::move(lock)), block_(std::in_place) {}
  explicit Condition(RLock lock)
      : lock_(std::move(lock)), block_(std::in_place) {}
  // For cereal: a Condition about to be loaded.
  explicit Condition(internal::LoadTag tag) : lock_(Lock(tag)), block_(tag) {}

  // Acquire and release the underlying lock.
  void Acquire() ABSL_EXCLUSIVE_LOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  bool Acquire(bool blocking, absl::Duration timeout = absl::InfiniteDuration())
      ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void Release() ABSL_UNLOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS;

  // Releases the lock, waits for a Notify or for `timeout`, re-acquires the
  // lock. Returns false when the timeout ran out.
  bool Wait(absl::Duration timeout = absl::InfiniteDuration());

  // Waits until `predicate()` is true or `timeout` has passed; returns its
  // last value (Python's wait_for()). The predicate runs under the lock.
  template <typename Predicate>
  bool WaitFor(Predicate predicate,
               absl::Duration timeout = absl::InfiniteDuration()) {
    const absl::Time deadline = absl::Now() + timeout;
    bool result = predicate();
    while (!result) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) break;
      Wait(left);
      result = predicate();
    }
    return result;
  }

  // Wakes the `n` longest-waiting threads, or all if fewer wait.
  void Notify(int n = 1);
  // Wakes every waiting thread.
  void NotifyAll();

  // For cereal: the lock (which kind, then the lock) and the block.
  template <typename Archive>
  void save(Archive& archive) const {
    const bool recursive = std::holds_alternative<RLock>(lock_);
    archive(recursive);
    std::visit([&](const auto& lock) { archive(lock); }, lock_);
    archive(block_);
  }
  template <typename Archive>
  void load(Archive& archive) {
    bool recursive = false;
    archive(recursive);
    if (recursive) lock_.emplace<RLock>(internal::LoadTag{});
    std::visit([&](auto& lock) { archive(lock); }, lock_);
    archive(block_);
  }

 private:
  bool IsOwned() const;
  uint32_t ReleaseSave() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void AcquireRestore(uint32_t saved) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void CheckOwned(const char* what) const;
  // Moves head past the slots nobody uses any more.
  void Compact();

  std::variant<Lock, RLock> lock_;
  internal::SharedBlock<internal::ConditionBlock> block_;
};

// The keyword arguments of Python's Barrier(parties, action, timeout).
struct BarrierOptions {
  // Run by the last process to arrive, before any leaves. A plain function,
  // since it runs in whichever process arrives last (Python pickles it).
  void (*action)() = nullptr;
  // What Wait() without an argument waits at most.
  absl::Duration timeout = absl::InfiniteDuration();
};

namespace internal {

// Barrier's block: sync::Barrier's state machine, guarded by `mu` (a Lock's
// permits); `changes` is the futex word waiters sleep on, bumped at every
// change of state.
struct BarrierBlock {
  enum State : uint32_t { kFilling, kDraining, kResetting, kBroken };

  PermitsBlock mu{1};
  std::atomic<uint32_t> changes{0};
  std::atomic<uint32_t> sleepers{0};
  State state = kFilling;
  int count = 0;
  uint64_t rounds = 0;
};

}  // namespace internal

// Python's multiprocessing.Barrier: sync::Barrier's API across processes.
// Where Python raises BrokenBarrierError, Wait() returns that status.
class Barrier {
 public:
  explicit Barrier(int parties, BarrierOptions options = {});
  // For cereal: a Barrier about to be loaded.
  explicit Barrier(internal::LoadTag tag) : block_(tag) {}

  // Waits for all parties with the default timeout; this party's index, or
  // the BrokenBarrierError status.
  absl::StatusOr<int> Wait() { return Wait(default_timeout_); }
  // As above, waiting at most `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // Returns the barrier to its initial state; current waiters get the error.
  void Reset();
  // Breaks the barrier until Reset().
  void Abort();

  int parties() const { return parties_; }
  // How many parties wait in the current round now.
  int n_waiting() const;
  // Whether the barrier is broken.
  bool broken() const;

  // For cereal: the block, and the options as plain numbers (the action is
  // an address, the same in a child of the fork server; -1 is no timeout).
  template <typename Archive>
  void save(Archive& archive) const {
    const int64_t timeout = default_timeout_ == absl::InfiniteDuration()
                                ? -1
                                : absl::ToInt64Nanoseconds(default_timeout_);
    archive(block_, parties_, reinterpret_cast<uint64_t>(action_), timeout);
  }
  template <typename Archive>
  void load(Archive& archive) {
    uint64_t action = 0;
    int64_t timeout = 0;
    archive(block_, parties_, action, timeout);
    action_ = reinterpret_cast<void (*)()>(action);
    default_timeout_ =
        timeout < 0 ? absl::InfiniteDuration() : absl::Nanoseconds(timeout);
  }

 private:
  class Locked;

  internal::SharedBlock<internal::BarrierBlock> block_;
  int parties_ = 1;
  void (*action_)() = nullptr;
  absl::Duration default_timeout_ = absl::InfiniteDuration();
};

}  // namespace pyconc::multiprocessing

#endif  // PYCONC_MULTIPROCESSING_SHARED_SYNCHRONIZE_H_
