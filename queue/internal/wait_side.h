// WaitSide: the threads of one side of a queue, and how they sleep and wake.
//
// A queue has three sides: putters waiting for room, getters waiting for an
// item, and joiners waiting for every task to be done. Each side has its own
// lock (a SideLock, side_lock.h), so putters never contend with getters. A
// thread that cannot proceed spins briefly (base/spin_wait.h's policy, shared
// by every primitive), then sleeps on the side's futex word, which every
// wake-up advances. The other side, after making progress, asks NeedsWake()
// (one atomic load) and only then takes this side's lock to wake exactly one
// sleeper that nobody has woken yet: no lock, no syscall, when nobody sleeps,
// and no thundering herd when several do.
//
// Thread-safety: Await() is called with mu() held; WakeOne(), WakeAll() and
// NeedsWake() without it, from any thread.
//
// Memory ordering: the sleeper announces itself, then HeavyFence(), then checks
// its condition one last time; the waker stores its progress, then NeedsWake()
// (which begins with LightFence()) loads the count of sleepers. The asymmetric
// fences (internal/fence.h) order each side's store before its load, so either
// the sleeper sees the progress or the waker sees the sleeper: no wake-up is
// lost, and the waker's hot path has no fence instruction.
//
// Why the sleepers are not a bit of the published word, as in
// sync/internal/parking_lot.h: there the bit lets a Lock's Release() be its
// last access, so the next owner may destroy the Lock at once; it costs a
// read-modify-write per release. A queue may not be destroyed while a call is
// inside it (basic_queue.h), so its counters stay plain stores and the check
// for sleepers is one more load.

#ifndef PYCONC_QUEUE_INTERNAL_WAIT_SIDE_H_
#define PYCONC_QUEUE_INTERNAL_WAIT_SIDE_H_

#include <atomic>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "base/spin_wait.h"
#include "queue/internal/fence.h"
#include "queue/internal/side_lock.h"

namespace pyconc::queue::internal {

class WaitSide {
 public:
  WaitSide() = default;
  WaitSide(const WaitSide&) = delete;
  WaitSide& operator=(const WaitSide&) = delete;

  // Serializes the threads of this side; the queue guards its side state with
  // it.
  SideLock* mu() const ABSL_LOCK_RETURNED(mu_) { return &mu_; }

  // Returns true as soon as `(owner->*ready)()` does, false if it is still
  // false after `timeout` (zero: one look, no wait). `ready` runs with mu()
  // held, must read the other side's progress with acquire (or stronger)
  // loads, and is called through a member pointer, as absl::Condition does, so
  // it may touch state guarded by mu().
  //
  // Before sleeping, the caller spins with mu() released until
  // `(owner->*likely)(batch)` says the way is probably free: for its first
  // kBatchLooks looks for a batch of items (or of room), then for one. Waiting
  // a few microseconds for a batch lets the other side run on without a cache
  // line bouncing between the two at every item; `likely` reads only atomics.
  template <typename Owner>
  bool Await(Owner* owner, bool (Owner::*ready)(),
             bool (Owner::*likely)(bool batch) const, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if ((owner->*ready)()) return true;
    if (timeout <= absl::ZeroDuration()) return false;
    const absl::Time deadline = timeout == absl::InfiniteDuration()
                                    ? absl::InfiniteFuture()
                                    : absl::Now() + timeout;
    mu_.Unlock();
    for (pyconc::internal::SpinWait spin(deadline); spin.Next();) {
      if ((owner->*likely)(spin.looks() <= kBatchLooks)) break;
    }
    mu_.Lock();
    for (;;) {
      if ((owner->*ready)()) return true;
      Announce();
      if ((owner->*ready)()) {
        Withdraw();
        return true;
      }
      if (Sleep(deadline)) return (owner->*ready)();
    }
  }

  // Whether a sleeper is waiting that no WakeOne() has woken yet.
  // Call it after publishing progress the sleepers' condition reads.
  bool NeedsWake() const {
    LightFence();
    return unwoken_.load(std::memory_order_relaxed) > 0;
  }
  // Wakes one sleeper not yet woken, if there is one. Call without mu() held.
  void WakeOne() ABSL_LOCKS_EXCLUDED(mu_);
  // Wakes every sleeper. Call without mu() held.
  void WakeAll() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // How many of the spin's looks wait for a batch.
  static constexpr int kBatchLooks = 16;

  // Counts the caller as a sleeper (before its last look at the condition).
  void Announce() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Undoes Announce() when the last look succeeded.
  void Withdraw() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sleeps until woken or `deadline`; returns whether the deadline passed.
  bool Sleep(absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Publishes sleeping_ - woken_ for NeedsWake().
  void Publish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable SideLock mu_;
  // Threads inside Sleep(), and how many of them WakeOne()/WakeAll() has
  // signalled and not yet returned. Invariant: woken_ <= sleeping_, and every
  // sleeper not yet signalled is counted by sleeping_ - woken_ (a sleeper whose
  // deadline passed may absorb another's signal, which only ever errs towards
  // one extra wake-up).
  int sleeping_ ABSL_GUARDED_BY(mu_) = 0;
  int woken_ ABSL_GUARDED_BY(mu_) = 0;
  // The sleepers' futex word: every WakeOne() or WakeAll() advances it (under
  // mu_), so a sleeper that read it before releasing mu_ cannot miss one.
  std::atomic<uint32_t> wakes_{0};
  // sleeping_ - woken_, on its own cache line: the other side reads it after
  // every operation, and it changes only when someone sleeps.
  alignas(64) std::atomic<int> unwoken_{0};
};

}  // namespace pyconc::queue::internal

#endif  // PYCONC_QUEUE_INTERNAL_WAIT_SIDE_H_
