// FutexWait and FutexWake: Linux's futex(2) on a 32-bit atomic word, the
// sleep under a few of pyconc's primitives (the queue's side locks and
// waiting threads, the process-shared locks of //multiprocessing/shared).
//
// A sleeper passes the value it saw; the kernel compares the word with it
// atomically with going to sleep, so a change (and the wake-up that follows
// it) between the caller's look and the call is never lost. Returns may be
// spurious: the caller looks at its condition again.
//
// Not part of the API. Thread-safe.

#ifndef PYCONC_BASE_FUTEX_H_
#define PYCONC_BASE_FUTEX_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace pyconc::internal {

// Who sleeps on a word: threads of this process only (a private futex, which
// the kernel keys by address without looking up the mapping), or processes
// that share the word's memory.
enum class FutexScope { kProcess, kShared };

// Sleeps while `*word == expected`, until FutexWake(), `deadline`
// (InfiniteFuture: no limit), a signal or a spurious wake-up. Returns false
// only when the deadline passed.
bool FutexWait(const std::atomic<uint32_t>* word, uint32_t expected,
               absl::Time deadline, FutexScope scope);

// Wakes up to `count` threads (or processes) sleeping on `word`.
void FutexWake(const std::atomic<uint32_t>* word, int count, FutexScope scope);

}  // namespace pyconc::internal

#endif  // PYCONC_BASE_FUTEX_H_
