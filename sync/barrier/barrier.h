// Barrier: Python's threading.Barrier, a meeting point for a fixed number of
// threads.
//
// clang-format off
//   Python                             pyconc
//   b = Barrier(3, action=f,           sync::Barrier b(3, {.action = f,
//               timeout=5)               .timeout = absl::Seconds(5)});
//   i = b.wait(), b.wait(timeout=1)    absl::StatusOr<int> i = b.Wait(),
//                                      b.Wait(absl::Seconds(1))
//   b.abort(), b.reset()               b.Abort(), b.Reset()
//   b.parties, b.n_waiting, b.broken   b.parties(), b.n_waiting(), b.broken()
// clang-format on
//
// Each of `parties` threads calls Wait(); all of them return together once the
// last one arrives, each with a distinct index in [0, parties). The last to
// arrive runs `action` first, once per round. The barrier can then be used
// again. Where Python raises BrokenBarrierError, Wait() returns an error status
// (code kAborted, message "threading.BrokenBarrierError: ..."): when Abort()
// was called, when a Wait() timed out (which breaks the barrier, as in Python),
// when the action threw (Wait() rethrows that exception in the thread that ran
// it) or when Reset() was called while threads waited. A broken barrier stays
// broken until Reset(). A barrier of fewer than 1 party is misuse (Python's
// ValueError). Where pyconc is stricter than Python: once a round is complete,
// each of its threads gets its index, even if another thread breaks the barrier
// before it has woken (Python may raise BrokenBarrierError in that thread).
//
// Thread-safety: every member may be called from any thread. Memory ordering:
// what each thread wrote before Wait() is visible to every thread after its
// Wait() returns an index, and to the action. The action runs while the
// barrier's internal lock is held, so it must not call the barrier.
//
// Lifetime: a party whose Wait() returned may destroy the Barrier at once, even
// while the other parties of its round are still leaving Wait() (~Barrier waits
// for them; tests/sync/lifetime). Destroying it while a round is filling is
// misuse.

#ifndef PYCONC_SYNC_BARRIER_BARRIER_H_
#define PYCONC_SYNC_BARRIER_BARRIER_H_

#include <cstdint>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace pyconc::sync {

namespace internal {
struct TestPeer;
}  // namespace internal

// The keyword arguments of Python's Barrier(parties, action=None,
// timeout=None).
struct BarrierOptions {
  // Run by the last thread to arrive, before any thread leaves; may be empty.
  std::function<void()> action = nullptr;
  // What Wait() without an argument waits at most.
  absl::Duration timeout = absl::InfiniteDuration();
};

class Barrier {
 public:
  explicit Barrier(int parties, BarrierOptions options = {});
  Barrier(const Barrier&) = delete;
  // Waits for the parties of a finished round that are still leaving Wait(),
  // so that a party whose Wait() returned may destroy the barrier at once (as
  // absl::Notification's destructor does). Destroying it while threads wait in
  // an unfinished round is misuse.
  ~Barrier();
  Barrier& operator=(const Barrier&) = delete;

  // Waits for all parties with the default timeout; returns this thread's
  // index, or the BrokenBarrierError status.
  absl::StatusOr<int> Wait() { return Wait(default_timeout_); }
  // As above, waiting at most `timeout` (negative is Python's ValueError).
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // Returns the barrier to its initial state; threads waiting now get the
  // error.
  void Reset();
  // Breaks the barrier: current and future Wait() calls fail until Reset().
  void Abort();

  // The number of threads needed to pass.
  int parties() const { return parties_; }
  // How many threads wait in the current round now.
  int n_waiting() const;
  // Whether the barrier is broken.
  bool broken() const;

 private:
  friend struct internal::TestPeer;

  // Python's states: filling with arrivals, letting a finished round leave,
  // letting a reset round leave, broken.
  enum class State { kFilling, kDraining, kResetting, kBroken };

  // Helpers of Wait(), with Python's names.
  absl::Status Enter() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseAll() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AwaitRelease(uint64_t round, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Exit() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Break() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  bool Passable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return state_ == State::kFilling || state_ == State::kBroken;
  }
  bool RoundOver() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return state_ != State::kFilling;
  }
  // Whether no thread is leaving a finished, reset or broken round.
  bool Left() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return count_ == 0 || state_ == State::kFilling;
  }

  const int parties_;
  const std::function<void()> action_;
  const absl::Duration default_timeout_;
  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kFilling;
  // Threads inside Wait() in this round, arriving or leaving.
  int count_ ABSL_GUARDED_BY(mu_) = 0;
  // Rounds completed; a waiter whose round completed has passed, whatever came
  // after.
  uint64_t rounds_ ABSL_GUARDED_BY(mu_) = 0;
};

// The status Wait() returns when the barrier is broken.
absl::Status BrokenBarrierError();

}  // namespace pyconc::sync

#endif  // PYCONC_SYNC_BARRIER_BARRIER_H_
