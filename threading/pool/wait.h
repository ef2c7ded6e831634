// Wait() and AsCompleted(): waiting for several Futures at once, as Python's
// concurrent.futures.wait() and as_completed().
//
//   done, not_done = wait(fs, timeout=t, return_when=FIRST_COMPLETED)
//     ->  auto [done, not_done] = Wait(fs, {.timeout = t,
//                                       .return_when = kFirstCompleted});
//   for f in as_completed(fs, timeout=t): f.result()
//     ->  for (absl::StatusOr<Future<T>> f : AsCompleted(fs, t)) {
//           if (!f.ok()) { /* TimeoutError: N (of M) futures unfinished */ }
//           f->Result(); }
//
// Both take the Futures of one type T; a Future listed twice counts once.
// Neither polls: a waiter object is registered on every Future (as CPython's
// _Waiter) and the thread that completes a Future wakes the waiting thread.
// A timeout is an expected outcome, so AsCompleted answers it with a value
// (absl::StatusCode::kDeadlineExceeded naming Python's TimeoutError), never an
// exception; a cancelled Future counts as done at once.
//
// Thread-safety: Wait() may be called from any thread. An AsCompleted range is
// used by one thread at a time (like a Python generator).

#ifndef PYCONC_THREADING_POOL_WAIT_H_
#define PYCONC_THREADING_POOL_WAIT_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "threading/pool/future.h"

namespace pyconc::futures {

// Python's FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED.
enum class ReturnWhen { kFirstCompleted, kFirstException, kAllCompleted };

// The keyword arguments of Python's wait().
struct WaitOptions {
  absl::Duration timeout = absl::InfiniteDuration();
  ReturnWhen return_when = ReturnWhen::kAllCompleted;
};

// Python's DoneAndNotDoneFutures; each list keeps the order of the input.
template <typename T>
struct DoneAndNotDone {
  std::vector<Future<T>> done;
  std::vector<Future<T>> not_done;
};

namespace internal {

// The Futures a Waiter saw finish, in the order they finished.
class Completions;

// Waits as Python's wait() does; answers, for each core, whether it is done.
std::vector<bool> WaitForCores(absl::Span<FutureCore* const> cores,
                               const WaitOptions& options);

// AsCompleted's state: a registered waiter and what has been yielded.
class CompletionQueue {
 public:
  CompletionQueue(std::vector<FutureCore*> cores, absl::Time deadline);
  ~CompletionQueue();
  // The index of the next finished core; DeadlineExceeded once at the
  // deadline; nullopt after that or when every core has been yielded.
  std::optional<absl::StatusOr<size_t>> Next();

 private:
  const std::vector<FutureCore*> cores_;
  const absl::Time deadline_;
  std::unique_ptr<Completions> completions_;
  size_t yielded_ = 0;
  bool timed_out_ = false;
};

// Lets a range-for loop walk anything with `std::optional<V> Next()`.
template <typename Source, typename V>
class NextIterator {
 public:
  using value_type = V;
  using difference_type = std::ptrdiff_t;

  NextIterator() = default;
  explicit NextIterator(Source* source) : source_(source) { ++*this; }

  V& operator*() { return *current_; }
  NextIterator& operator++() {
    current_ = source_->Next();
    if (!current_.has_value()) source_ = nullptr;
    return *this;
  }
  void operator++(int) { ++*this; }
  friend bool operator==(const NextIterator& a, const NextIterator& b) {
    return a.source_ == b.source_;
  }

 private:
  Source* source_ = nullptr;
  std::optional<V> current_;
};

// The Futures of `futures` without repeats, in first-seen order.
template <typename T>
std::vector<Future<T>> Unique(const std::vector<Future<T>>& futures) {
  absl::flat_hash_set<FutureCore*> seen;
  std::vector<Future<T>> unique;
  unique.reserve(futures.size());
  for (const Future<T>& f : futures) {
    if (seen.insert(f.core()).second) unique.push_back(f);
  }
  return unique;
}

template <typename T>
std::vector<FutureCore*> Cores(const std::vector<Future<T>>& futures) {
  std::vector<FutureCore*> cores;
  cores.reserve(futures.size());
  for (const Future<T>& f : futures) cores.push_back(f.core());
  return cores;
}

}  // namespace internal

// Python's wait(fs, timeout, return_when): blocks until the condition holds
// or `timeout` passes, then splits the Futures into done and not done.
template <typename T>
DoneAndNotDone<T> Wait(const std::vector<Future<T>>& futures,
                       WaitOptions options = {}) {
  std::vector<Future<T>> unique = internal::Unique(futures);
  const std::vector<bool> done =
      internal::WaitForCores(internal::Cores(unique), options);
  DoneAndNotDone<T> result;
  for (size_t i = 0; i < unique.size(); ++i) {
    (done[i] ? result.done : result.not_done).push_back(std::move(unique[i]));
  }
  return result;
}

// What AsCompleted() returns: a single-pass range of absl::StatusOr<Future<T>>.
// A non-OK element (the timeout) is the last one.
template <typename T>
class AsCompletedRange {
 public:
  using Item = absl::StatusOr<Future<T>>;
  using iterator = internal::NextIterator<AsCompletedRange, Item>;

  AsCompletedRange(const std::vector<Future<T>>& futures,
                   absl::Duration timeout)
      : futures_(internal::Unique(futures)),
        queue_(std::make_unique<internal::CompletionQueue>(
            internal::Cores(futures_), absl::Now() + timeout)) {}

  // Python's next(it): the next Future to finish (already finished ones
  // first); a DeadlineExceeded status "TimeoutError: N (of M) futures
  // unfinished" at the deadline; nullopt when every Future has been yielded.
  std::optional<Item> Next() {
    std::optional<absl::StatusOr<size_t>> next = queue_->Next();
    if (!next.has_value()) return std::nullopt;
    if (!next->ok()) return Item(next->status());
    return Item(futures_[**next]);
  }

  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  std::vector<Future<T>> futures_;
  std::unique_ptr<internal::CompletionQueue> queue_;
};

// Python's as_completed(fs, timeout): the Futures in the order they finish,
// each once. The timeout counts from this call.
template <typename T>
AsCompletedRange<T> AsCompleted(
    const std::vector<Future<T>>& futures,
    absl::Duration timeout = absl::InfiniteDuration()) {
  return AsCompletedRange<T>(futures, timeout);
}

}  // namespace pyconc::futures

#endif  // PYCONC_THREADING_POOL_WAIT_H_
