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
// A thread waiting to take a mutex (Lock, RLock) looks only kMutexLooks
// times before it sleeps. A mutex is mostly waited for while its holder takes
// it again and again (a loop around a critical section); a waiter that keeps
// looking then wins a handoff now and then, and each one moves the lock's
// cache line and the holder's run to the other CPU. Asleep, it lets the holder
// run alone, as absl::Mutex's and glibc's waiters end up. Two threads
// incrementing a counter under one Lock: 45 ns an increment with 64 looks, 29
// with 8, 19 with 4 (absl::Mutex 17). A waiter for a signal (an Event, a
// queue's item, a Semaphore's release) keeps kLooks: the other side answers
// once, and a sleep and a wake-up would cost it 20 us.
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

// Whether the machine has more than one CPU: whether a thread that waits, or
// works beside another, can run while the other does.
inline bool ManyCpus() {
  static const bool many = std::thread::hardware_concurrency() > 1;
  return many;
}

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
  // How many looks a thread waiting to take a mutex gets (see above).
  static constexpr int kMutexLooks = 4;

  // A wait of `looks` looks that also ends when `deadline` passes; one whose
  // deadline has passed already (a non-blocking call, a zero timeout) gets no
  // look.
  explicit SpinWait(absl::Time deadline = absl::InfiniteFuture(),
                    int looks = kLooks)
      : deadline_(deadline),
        looks_left_(
            (deadline != absl::InfiniteFuture() && deadline <= absl::Now()) ||
                    !ManyCpus()
                ? 0
                : looks) {}
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
  const absl::Time deadline_;
  int looks_left_;
  int looks_taken_ = 0;
};

}  // namespace pyconc::internal

#endif  // PYCONC_BASE_SPIN_WAIT_H_
