// SpinWait: how every pyconc primitive waits a little before it sleeps.
//
// A thread that finds a Lock taken, an Event clear, a queue side blocked or a
// thread pool without work looks again a few dozen times before it sleeps:
// the other side often answers within microseconds, and a sleep and a wake-up
// cost tens of microseconds on a virtual machine. One policy serves them all:
// the first kPauses looks are a pause instruction apart (CpuRelax), for an
// answer already on its way; the others a yield apart, which looks far less
// often and lets a thread that waits for this CPU run. A spinner that reads
// the awaited cache line at every pause slows the thread it waits for: a
// thread that keeps taking and giving back a Lock ran about four times slower
// under 300 pauses (25-40 ns a contended round) than under yields (6.5 ns).
// On a machine with one CPU nothing spins: the awaited thread cannot run
// meanwhile.
//
//   for (SpinWait spin(deadline); spin.Next();) {
//     if (ready()) return true;
//   }
//   // Sleep until woken.
//
// Not part of the API. Thread-compatible: one SpinWait per waiting thread.

#ifndef PYCONC_BASE_SPIN_WAIT_H_
#define PYCONC_BASE_SPIN_WAIT_H_

#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace pyconc::internal {

// Tells the CPU that the calling thread spins (on x86 the pause instruction,
// on ARM yield): it saves power, gives a sibling hyper-thread the core, and
// avoids the pipeline flush when the awaited store arrives. Returns after a
// few dozen cycles (about 25 ns on an AMD EPYC, longer on recent Intel CPUs).
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class SpinWait {
 public:
  // How many looks a wait gets, and how many of them are a pause apart.
  static constexpr int kLooks = 64;
  static constexpr int kPauses = 2;

  // A wait that also ends when `deadline` passes; one whose deadline has
  // passed already (a non-blocking call, a zero timeout) gets no look.
  explicit SpinWait(absl::Time deadline = absl::InfiniteFuture())
      : deadline_(deadline),
        looks_left_(deadline != absl::InfiniteFuture() &&
                            deadline <= absl::Now()
                        ? 0
                        : LooksOnThisMachine()) {}
  SpinWait(const SpinWait&) = delete;
  SpinWait& operator=(const SpinWait&) = delete;

  // Waits for the next look (the first at once) and returns true; false when
  // the looks are spent or the deadline has passed: the caller then sleeps.
  bool Next() {
    if (looks_left_ == 0) return false;
    const int look = looks_taken_++;
    --looks_left_;
    if (look == 0) return true;
    if (look <= kPauses) {
      CpuRelax();
      return true;
    }
    std::this_thread::yield();  // On a busy machine, maybe for a while:
    return deadline_ == absl::InfiniteFuture() || absl::Now() < deadline_;
  }

  // How many looks Next() has granted.
  int looks() const { return looks_taken_; }

 private:
  // kLooks, or 0 on a machine with one CPU.
  static int LooksOnThisMachine() {
    static const int looks =
        std::thread::hardware_concurrency() > 1 ? kLooks : 0;
    return looks;
  }

  const absl::Time deadline_;
  int looks_left_;
  int looks_taken_ = 0;
};

}  // namespace pyconc::internal

#endif  // PYCONC_BASE_SPIN_WAIT_H_
