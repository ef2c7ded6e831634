// ParkingLot: where threads wait for a condition that other threads make true
// with lock-free atomic operations.
//
// A primitive whose state is one atomic word (Permits' count, Event's flag)
// changes it without a lock, so its fast paths cost one atomic operation. A
// thread that finds the state not to its liking waits here: it spins briefly,
// with pauses and then yields, because the other side often answers that fast
// and a sleep and wake-up cost tens of microseconds on a virtual machine, and
// then it sleeps in an absl::Mutex Await. The thread that changes the state
// calls WakeAll() afterwards, which costs one atomic load unless someone
// sleeps.
//
// The handshake: a waiter increments the sleeper count and then evaluates its
// condition; a waker stores the state and then reads the count. Both are
// sequentially consistent, so at least one sees the other: either the waiter
// finds its condition true, or the waker sees a sleeper and wakes it.
//
// Thread-safe.

#ifndef PYCONC_SYNC_INTERNAL_PARKING_LOT_H_
#define PYCONC_SYNC_INTERNAL_PARKING_LOT_H_

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/cpu_relax.h"

namespace pyconc::sync::internal {

class ParkingLot {
 public:
  ParkingLot() = default;
  ParkingLot(const ParkingLot&) = delete;
  ParkingLot& operator=(const ParkingLot&) = delete;

  // Waits until `ready()` returns true or `deadline` passes; returns ready()'s
  // last answer. `ready` must be cheap and pure, and read the state with
  // sequentially consistent loads: it runs while spinning, and on other
  // threads when they unlock the lot's mutex. SpinUntil(), then SleepUntil().
  template <typename Ready>
  bool WaitUntil(const Ready& ready, absl::Time deadline) {
    return SpinUntil(ready, deadline) || SleepUntil(ready, deadline);
  }

  // Waits until `take()`, tried whenever `ready()` is true, succeeds; false
  // when `deadline` passes first. `take` may fail when another thread takes
  // what it wanted between the wake-up and the try; this thread then waits
  // again. `ready` as for WaitUntil(). InfinitePast() is a non-blocking call
  // whose caller has tried already: it returns false at once.
  template <typename Ready, typename Take>
  bool TakeWhenReady(const Ready& ready, const Take& take,
                     absl::Time deadline) {
    if (deadline == absl::InfinitePast()) return false;
    while (WaitUntil(ready, deadline)) {
      if (take()) return true;
    }
    return false;
  }

  // Makes sleeping waiters re-evaluate their conditions. Call it after the
  // sequentially consistent operation that may have made them true.
  void WakeAll() {
    if (sleepers_.load(std::memory_order_seq_cst) > 0) WakeSleepers();
  }

  // Blocks until at least `n` threads sleep here: for tests that must know a
  // thread is blocked, without sleeping themselves.
  void AwaitSleepers(int64_t n);

 private:
  // How many times a waiter looks at its condition before it sleeps; 0 on a
  // machine with one CPU, where the thread it waits for cannot run meanwhile.
  static int SpinsBeforeSleeping();
  // How many of those looks are a pause apart; the rest are a yield apart.
  static constexpr int kPauses = 2;

  // Looks at `ready()` a few dozen times, a pause or a yield apart (tens of
  // microseconds at most), until it returns true; returns whether it did. Does
  // not spin when `deadline` has passed.
  template <typename Ready>
  bool SpinUntil(const Ready& ready, absl::Time deadline);
  // Sleeps until `ready()` returns true or `deadline` passes; returns ready()'s
  // last answer.
  template <typename Ready>
  bool SleepUntil(const Ready& ready, absl::Time deadline);

  void WakeSleepers();

  std::atomic<int64_t> sleepers_{0};
  // Held by a waiter while it evaluates its condition; WakeSleepers() locks and
  // unlocks it, which makes absl::Mutex re-evaluate the sleepers' conditions.
  absl::Mutex mu_;
};

template <typename Ready>
bool ParkingLot::SpinUntil(const Ready& ready, absl::Time deadline) {
  // A deadline already past (a non-blocking call, a zero timeout) gets no
  // spinning; SleepUntil() then looks once.
  const bool timed = deadline != absl::InfiniteFuture();
  if (timed && deadline <= absl::Now()) return false;
  for (int i = 0; i < SpinsBeforeSleeping(); ++i) {
    if (ready()) return true;
    // Two pauses, for an answer already on its way; then yields, which look
    // far less often: a spinner that reads the cache line on every pause
    // slows a thread that keeps taking and giving back a lock about fourfold
    // (measured: 6.5 ns per contended Lock round with yields, 25-40 ns with
    // 300 pauses), and a yield also lets a thread waiting for this CPU run.
    if (i < kPauses) {
      pyconc::internal::CpuRelax();
    } else {
      std::this_thread::yield();  // On a busy machine, maybe for a while:
      if (timed && deadline <= absl::Now()) return false;
    }
  }
  return false;
}

template <typename Ready>
bool ParkingLot::SleepUntil(const Ready& ready, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  // The thread that finds the condition true (in its unlock of mu_) counts
  // this one out at once: until this thread runs again, which takes a wake-up,
  // WakeAll() calls need not lock mu_ for it. absl::Mutex may evaluate the
  // condition again and wait on, so each evaluation counts this thread back in
  // before it looks. It evaluates it with mu_ held: `counted_out` needs no
  // atomic.
  bool counted_out = false;
  auto ready_and_counted_out = [this, &ready, &counted_out] {
    if (counted_out) sleepers_.fetch_add(1, std::memory_order_seq_cst);
    counted_out = ready();
    if (counted_out) sleepers_.fetch_sub(1, std::memory_order_seq_cst);
    return counted_out;
  };
  const bool result =
      mu_.AwaitWithDeadline(absl::Condition(&ready_and_counted_out), deadline);
  if (!counted_out) sleepers_.fetch_sub(1, std::memory_order_seq_cst);
  return result;
}

}  // namespace pyconc::sync::internal

#endif  // PYCONC_SYNC_INTERNAL_PARKING_LOT_H_
