// Event: Python's threading.Event, a flag that threads can wait for.
//
// clang-format off
//   Python                          pyconc
//   event = threading.Event()       sync::Event event;
//   event.set(), event.clear()      event.Set(), event.Clear()
//   event.is_set()                  event.IsSet()
//   event.wait()                    event.Wait()
//   event.wait(0.5)                 event.Wait(absl::Milliseconds(500))
// clang-format on
//
// Unlike absl::Notification, an Event can be cleared and set again. Wait()
// returns true when the flag is set, or was set while the caller waited: a
// waiter already waiting when Set() is followed at once by Clear() still wakes,
// and returns true (as Python since 3.x, gh-57711). It returns false only when
// the timeout ran out with the flag clear.
//
// Set(), Clear() and IsSet() are one atomic operation each. A Wait() that
// finds the flag clear spins briefly (a few pauses, then yields) before it
// sleeps, so a Set() from another core usually wakes it within a microsecond.
//
// Thread-safety: every member may be called from any thread. Memory ordering:
// what a thread wrote before Set() is visible to a thread whose Wait() or
// IsSet() returns true because of it. Set() touches nothing of the Event after
// it publishes the flag, so a thread whose Wait() or IsSet() returned true may
// destroy the Event at once (as absl::Notification allows), even while the
// Set() that woke it is still returning.

#ifndef PYCONC_SYNC_EVENT_EVENT_H_
#define PYCONC_SYNC_EVENT_EVENT_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace pyconc::sync {

namespace internal {
struct TestPeer;
}  // namespace internal

class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  // Whether the flag is set (Python's is_set()).
  bool IsSet() const;
  // Sets the flag and wakes every waiting thread.
  void Set();
  // Clears the flag; later Wait() calls block until the next Set().
  void Clear();
  // Waits until the flag is set or `timeout` passes; returns whether it was
  // set. A negative timeout is Python's ValueError.
  bool Wait(absl::Duration timeout = absl::InfiniteDuration());

 private:
  friend struct internal::TestPeer;

  // The flag in the low bit; then ParkingLot's sleeper bit; above them, how
  // many times Set() turned the flag on. A waiter wakes when the word changes
  // from the clear one it saw, so a Clear() right after the Set() cannot strand
  // it. One word, so that Set(), Clear() and IsSet() are one atomic operation
  // each.
  static constexpr uint64_t kFlag = 1;
  static constexpr uint64_t kSleepers = 2;
  static constexpr uint64_t kOneSet = 4;
  std::atomic<uint64_t> state_{0};
};

}  // namespace pyconc::sync

#endif  // PYCONC_SYNC_EVENT_EVENT_H_
