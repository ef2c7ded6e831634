#include "sync/internal/parking_lot.h"

#include <cstddef>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace pyconc::sync::internal {
namespace {

// A parked thread, on its own stack; linked in its bucket while it sleeps.
struct Waiter {
  const void* address = nullptr;
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
  // Set by WakeAll(), under the bucket's lock, when it unlinks this waiter.
  bool woken = false;
};

// The threads parked on the addresses that hash to one bucket. Its own cache
// line, so that parking on one primitive does not slow another's.
struct alignas(64) Bucket {
  void Link(Waiter* waiter) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    waiter->next = head;
    if (head != nullptr) head->prev = waiter;
    head = waiter;
  }
  void Unlink(Waiter* waiter) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (waiter->prev != nullptr) waiter->prev->next = waiter->next;
    if (waiter->next != nullptr) waiter->next->prev = waiter->prev;
    if (head == waiter) head = waiter->next;
    waiter->prev = waiter->next = nullptr;
  }

  absl::Mutex mu;
  Waiter* head ABSL_GUARDED_BY(mu) = nullptr;
};

// The table: never destroyed, so it outlives every primitive and every thread
// (daemon threads may still park while the program exits).
Bucket& BucketOf(const void* address) {
  constexpr size_t kBuckets = 256;
  static Bucket* const table = new Bucket[kBuckets];
  // Fibonacci hashing: the top bits of the product mix every bit of the
  // address, so neighbouring primitives land in different buckets.
  const uint64_t key = reinterpret_cast<uintptr_t>(address);
  return table[(key * 0x9E3779B97F4A7C15ull) >> 56];
}

}  // namespace

bool ParkingLot::Park(const void* address, absl::FunctionRef<void()> mark,
                      absl::FunctionRef<bool()> ready, absl::Time deadline) {
  Bucket& bucket = BucketOf(address);
  absl::MutexLock lock(&bucket.mu);
  for (;;) {
    // The bit first, then the look: a change published after the look sees
    // the bit, and its WakeAll() waits for this lock, held until Await()
    // sleeps.
    mark();
    if (ready()) return true;
    Waiter me;
    me.address = address;
    bucket.Link(&me);
    if (!bucket.mu.AwaitWithDeadline(absl::Condition(&me.woken), deadline)) {
      bucket.Unlink(&me);
      return ready();
    }
  }
}

void ParkingLot::WakeAll(const void* address) {
  Bucket& bucket = BucketOf(address);
  absl::MutexLock lock(&bucket.mu);
  for (Waiter* waiter = bucket.head; waiter != nullptr;) {
    Waiter* const next = waiter->next;
    if (waiter->address == address) {
      bucket.Unlink(waiter);
      waiter->woken = true;
    }
    waiter = next;
  }
}

void ParkingLot::AwaitParked(const void* address, int n) {
  Bucket& bucket = BucketOf(address);
  absl::MutexLock lock(&bucket.mu);
  auto enough = [&bucket, address, n]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    int parked = 0;
    for (Waiter* waiter = bucket.head; waiter != nullptr;
         waiter = waiter->next) {
      if (waiter->address == address) ++parked;
    }
    return parked >= n;
  };
  bucket.mu.Await(absl::Condition(&enough));
}

}  // namespace pyconc::sync::internal
