// ParkingLot: where threads wait for a condition that other threads make true
// with lock-free atomic operations on one word.
//
// A primitive whose state is one atomic word (Permits' count, Event's flag,
// RLock's owner) changes it without a lock, so its fast paths cost one atomic
// operation. A thread that finds the state not to its liking waits here: it
// spins briefly, as base/spin_wait.h's policy (shared by every primitive)
// says, because the other side often answers that fast; then it parks: it
// sleeps in a process-wide table keyed by the word's address, which outlives
// every primitive.
//
// The sleeper bit. The primitive reserves one bit of its word (`sleeper_bit`)
// meaning "a thread may be parked on this word". A parking thread sets it and
// then evaluates its condition; a thread that publishes a change does so with
// one atomic read-modify-write that also clears the bit, and when the old word
// had it, calls WakeAll(&word). Read-modify-writes of one word are totally
// ordered, so either the parking thread sees the change, or the publishing one
// sees the bit; both are done under the table's lock for the word, so the
// wake-up cannot slip between the parker's look and its sleep.
//
// Destroying a primitive right after use. The publishing operation is the
// last access to the primitive: when nobody sleeps, it returns at once; when
// someone does, WakeAll() touches only the table (and the parked threads' own
// stack records), never the primitive, whose address it uses as a key. So a
// thread that takes a Lock, or sees an Event set, may destroy it at once, as
// absl::Mutex and absl::Notification allow; a thread inside a ParkingLot
// call is inside a call on the primitive, which must outlive it anyway. A
// WakeAll() for an address whose primitive is gone, and whose memory was
// reused by another, only wakes that one's sleepers to look again.
//
// Thread-safe.

#ifndef PYCONC_SYNC_INTERNAL_PARKING_LOT_H_
#define PYCONC_SYNC_INTERNAL_PARKING_LOT_H_

#include <atomic>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/spin_wait.h"

namespace pyconc::sync::internal {

class ParkingLot {
 public:
  ParkingLot() = delete;

  // Waits until `ready()` returns true or `deadline` passes; returns ready()'s
  // last answer. `ready` must be cheap and pure, and read `word` with
  // sequentially consistent loads; it runs while spinning and while this
  // thread holds the table's lock for `word`. While parked, this thread keeps
  // `sleeper_bit` set in `word`; every change that may make `ready()` true
  // must clear it with the same read-modify-write, and call WakeAll(&word)
  // when it was set (see the top of this file). Spins `looks` looks first
  // (base/spin_wait.h).
  template <typename Word, typename Ready>
  static bool WaitUntil(std::atomic<Word>& word, Word sleeper_bit,
                        const Ready& ready, absl::Time deadline,
                        int looks = pyconc::internal::SpinWait::kLooks) {
    return SpinUntil(ready, deadline, looks) ||
           Park(
               &word,
               [&word, sleeper_bit] {
                 word.fetch_or(sleeper_bit, std::memory_order_seq_cst);
               },
               ready, deadline);
  }

  // Waits until `take()`, tried whenever `ready()` is true, succeeds; false
  // when `deadline` passes first. `take` may fail when another thread takes
  // what it wanted between the wake-up and the try; this thread then waits
  // again. `word`, `sleeper_bit` and `ready` as for WaitUntil(); `take` must
  // keep the sleeper bit as it finds it. InfinitePast() is a non-blocking call
  // whose caller has tried already: it returns false at once. `looks` as for
  // WaitUntil().
  template <typename Word, typename Ready, typename Take>
  static bool TakeWhenReady(std::atomic<Word>& word, Word sleeper_bit,
                            const Ready& ready, const Take& take,
                            absl::Time deadline, int looks) {
    if (deadline == absl::InfinitePast()) return false;
    while (WaitUntil(word, sleeper_bit, ready, deadline, looks)) {
      if (take()) return true;
    }
    return false;
  }

  // Wakes every thread parked on the word at `address`, to evaluate its
  // condition again. Never dereferences `address`.
  static void WakeAll(const void* address);

  // Blocks until at least `n` threads are parked on the word at `address`:
  // for tests that must know a thread is blocked, without sleeping themselves.
  static void AwaitParked(const void* address, int n);

 private:
  // Looks at `ready()` as //base:spin_wait's policy says (`looks` looks, tens
  // of microseconds at most), until it returns true; returns whether it did.
  // Does not spin when `deadline` has passed.
  template <typename Ready>
  static bool SpinUntil(const Ready& ready, absl::Time deadline, int looks);

  // Parks on `address` until woken with `ready()` true, or until `deadline`;
  // returns ready()'s last answer. Runs `mark()` (which sets the sleeper bit)
  // before each look at `ready()`, under the table's lock for `address`.
  static bool Park(const void* address, absl::FunctionRef<void()> mark,
                   absl::FunctionRef<bool()> ready, absl::Time deadline);
};

template <typename Ready>
bool ParkingLot::SpinUntil(const Ready& ready, absl::Time deadline, int looks) {
  for (pyconc::internal::SpinWait spin(deadline, looks); spin.Next();) {
    if (ready()) return true;
  }
  return false;
}

}  // namespace pyconc::sync::internal

#endif  // PYCONC_SYNC_INTERNAL_PARKING_LOT_H_
