// MapResults<R>: what the executors' Map() returns, Python's generator of
// executor.map() results; MapUnorderedResults<R>, what MapUnordered() returns.
//
// A single-pass range of absl::StatusOr<R> in input order. An element waits for
// its call; the call's exception is rethrown there (and the calls not yet
// reached are cancelled), as Python raises it from next(). At the deadline the
// element is DeadlineExceeded "TimeoutError: ..." and the range ends after
// cancelling the unfinished calls; a non-OK element is always the last one.
// Destroying the range early cancels the calls not reached (Python's generator
// close()). For a void function the value is std::monostate.
//
// Thread-safety: one thread at a time, like a Python generator.

#ifndef PYCONC_THREADING_POOL_MAP_RESULTS_H_
#define PYCONC_THREADING_POOL_MAP_RESULTS_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/errors.h"
#include "threading/pool/future.h"
#include "threading/pool/wait.h"

namespace pyconc::futures {

// The keyword arguments of Python's Executor.map().
struct MapOptions {
  // Counted from the call to Map(); InfiniteDuration() is Python's None.
  absl::Duration timeout = absl::InfiniteDuration();
  // Python 3.14's buffersize: Map() submits only this many calls, and each
  // step of the range submits one more before it waits, so an endless input
  // (std::views::iota) works and memory stays bounded. Unset (Python's None)
  // submits every call at once. Less than 1 is misuse (ValueError). With it
  // set, the executor must outlive the range (Python's holds a weak
  // reference); input ranges passed as lvalues must too (rvalues are kept).
  std::optional<int> buffersize;
};

namespace internal {

// How Zip reaches a range: its iterator and its elements' type. Plain
// std::begin/std::end rather than <ranges>, which clang 14 cannot compile
// with libstdc++ 12.
template <typename Range>
using IteratorOf =
    decltype(std::begin(std::declval<std::remove_reference_t<Range>&>()));
template <typename Range>
using ElementOf = std::decay_t<decltype(*std::declval<IteratorOf<Range>&>())>;

// Python's zip(*iterables) over C++ ranges: the elements of each, in
// lockstep, ending with the shortest. Keeps an rvalue range (moved in) and
// refers to an lvalue one (`Ranges` is T& for those), as std::views::all
// does. Neither copyable nor movable: its iterators may point into the
// ranges it keeps.
template <typename... Ranges>
class Zip {
 public:
  // What fn(elements...) returns when the elements are copies, as Submit()
  // passes them.
  template <typename F>
  using Result = std::invoke_result_t<F, ElementOf<Ranges>...>;

  template <typename... Args>
  explicit Zip(Args&&... ranges)
      : ranges_(std::forward<Args>(ranges)...),
        its_(std::apply(
            [](auto&... kept) { return std::tuple(std::begin(kept)...); },
            ranges_)) {}
  Zip(const Zip&) = delete;
  Zip& operator=(const Zip&) = delete;

  // Whether the shortest range has ended.
  bool Done() { return Done(std::index_sequence_for<Ranges...>()); }

  // Calls fn(element...) on the current elements, then steps past them.
  template <typename G>
  decltype(auto) Take(G&& fn) {
    struct Advance {
      Zip* zip;
      ~Advance() {
        std::apply([](auto&... its) { (++its, ...); }, zip->its_);
      }
    } advance{this};
    return std::apply(
        [&](auto&... its) -> decltype(auto) {
          return std::forward<G>(fn)(*its...);
        },
        its_);
  }

 private:
  template <size_t... I>
  bool Done(std::index_sequence<I...>) {
    return ((std::get<I>(its_) == std::end(std::get<I>(ranges_))) || ...);
  }

  std::tuple<Ranges...> ranges_;
  std::tuple<IteratorOf<Ranges>...> its_;
};

// An lvalue deduces T& (kept by reference), an rvalue T (kept by value).
template <typename... Args>
Zip(Args&&...) -> Zip<Args...>;

// Calls fn(options, ranges...) for Map(fn, ranges..., options): the options
// are the last argument when it is an `Options`, else the defaults.
template <typename Options, typename G, typename... Args>
decltype(auto) WithTrailingOptions(G&& fn, Args&&... args) {
  constexpr size_t kCount = sizeof...(Args);
  auto all = std::forward_as_tuple(std::forward<Args>(args)...);
  using Last = std::decay_t<std::tuple_element_t<kCount - 1, decltype(all)>>;
  if constexpr (std::is_same_v<Last, Options>) {
    return [&]<size_t... I>(std::index_sequence<I...>)->decltype(auto) {
      return std::forward<G>(fn)(std::get<kCount - 1>(all),
                                 std::get<I>(std::move(all))...);
    }
    (std::make_index_sequence<kCount - 1>());
  } else {
    return std::forward<G>(fn)(Options{}, std::forward<Args>(args)...);
  }
}

// Checks Python 3.14's buffersize rule (misuse: ValueError).
void CheckBuffersize(const std::optional<int>& buffersize);

// Submits the calls of the next chunk of a map (one call for a thread pool,
// `chunksize` inputs for a process pool): their Futures, nullopt once the
// inputs are exhausted, or the status the executor refused them with.
template <typename R>
using NextChunk =
    absl::AnyInvocable<std::optional<absl::StatusOr<std::vector<Future<R>>>>()>;

}  // namespace internal

template <typename R>
class MapResults {
 public:
  using Value = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
  using Item = absl::StatusOr<Value>;
  using iterator = internal::NextIterator<MapResults, Item>;

  // Every call already submitted, in input order.
  MapResults(std::vector<Future<R>> futures, absl::Time deadline)
      : futures_(std::make_move_iterator(futures.begin()),
                 std::make_move_iterator(futures.end())),
        deadline_(deadline) {
    if (!futures_.empty()) chunks_.push_back(futures_.size());
  }
  // A range of one error element (Map() on an executor refusing work).
  explicit MapResults(absl::Status error) : error_(std::move(error)) {}

  MapResults(MapResults&&) noexcept = default;
  MapResults& operator=(MapResults&&) noexcept = default;
  ~MapResults() { CancelRest(); }

  // Python's map(): submits every chunk at once, or with `buffersize` that
  // many, keeping `next_chunk` to submit one more each time the range starts
  // a chunk (Python 3.14's result_iterator).
  static MapResults Start(internal::NextChunk<R> next_chunk,
                          absl::Time deadline, std::optional<int> buffersize) {
    internal::CheckBuffersize(buffersize);
    MapResults results(std::vector<Future<R>>(), deadline);
    while (!buffersize.has_value() ||
           static_cast<int>(results.chunks_.size()) < *buffersize) {
      if (!results.Add(next_chunk)) break;
    }
    if (!results.error_.ok()) {
      results.CancelRest();
      return results;
    }
    if (buffersize.has_value()) results.next_chunk_ = std::move(next_chunk);
    return results;
  }

  // Python's next(results): the next result in input order, an error at the
  // deadline, nullopt at the end.
  std::optional<Item> Next() {
    if (!error_.ok()) return Item(std::exchange(error_, absl::OkStatus()));
    if (left_in_chunk_ == 0) {
      if (next_chunk_ != nullptr && !Add(next_chunk_)) {
        next_chunk_ = nullptr;
        if (!error_.ok()) {
          CancelRest();
          return Item(std::exchange(error_, absl::OkStatus()));
        }
      }
      if (chunks_.empty()) return std::nullopt;
      left_in_chunk_ = chunks_.front();
      chunks_.pop_front();
    }
    const Future<R> future = std::move(futures_.front());
    futures_.pop_front();
    --left_in_chunk_;
    // Only a deadline asks the clock: a finished result costs no clock read.
    if (!future.Done() && !future.Wait(deadline_ == absl::InfiniteFuture()
                                           ? absl::InfiniteDuration()
                                           : deadline_ - absl::Now())) {
      future.Cancel();
      CancelRest();
      return Item(MakeError(PythonError::kTimeoutError,
                            "map() result not ready before the timeout"));
    }
    try {
      if constexpr (std::is_void_v<R>) {
        future.Result();
        return Item(Value());
      } else {
        return Item(std::move(future.Result()));
      }
    } catch (...) {
      CancelRest();
      throw;
    }
  }

  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  // Submits the next chunk; false when there is none (or it was refused:
  // error_ says so).
  bool Add(internal::NextChunk<R>& next_chunk) {
    std::optional<absl::StatusOr<std::vector<Future<R>>>> chunk = next_chunk();
    if (!chunk.has_value()) return false;
    if (!chunk->ok()) {
      error_ = chunk->status();
      return false;
    }
    chunks_.push_back((*chunk)->size());
    for (Future<R>& future : **chunk) futures_.push_back(std::move(future));
    return true;
  }

  void CancelRest() {
    next_chunk_ = nullptr;
    for (const Future<R>& future : futures_) future.Cancel();
    futures_.clear();
    chunks_.clear();
    left_in_chunk_ = 0;
  }

  std::deque<Future<R>> futures_;  // Not yet yielded, in input order.
  std::deque<size_t> chunks_;      // Sizes of the chunks not yet started.
  size_t left_in_chunk_ = 0;       // Of the chunk being yielded.
  absl::Time deadline_ = absl::InfiniteFuture();
  internal::NextChunk<R> next_chunk_;  // Set while a buffered map has more.
  absl::Status error_;
};

// What MapUnordered() returns, Python's Pool.imap_unordered() iterator: a
// single-pass range of absl::StatusOr<R> in the order the calls finish (a
// chunk's results together, in input order). A call's exception is rethrown
// when its item is reached and the calls not yet reached are cancelled, as
// MapResults does; at the deadline the element is DeadlineExceeded
// "TimeoutError: ..." and the unfinished calls are cancelled. Destroying the
// range early cancels the calls not started.
//
// Thread-safety: one thread at a time, like a Python generator.
template <typename R>
class MapUnorderedResults {
 public:
  using Value = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
  using Item = absl::StatusOr<Value>;
  using iterator = internal::NextIterator<MapUnorderedResults, Item>;

  // Submits every chunk now.
  static MapUnorderedResults Start(internal::NextChunk<R> next_chunk,
                                   absl::Time deadline) {
    std::vector<Future<R>> futures;
    while (true) {
      std::optional<absl::StatusOr<std::vector<Future<R>>>> chunk =
          next_chunk();
      if (!chunk.has_value()) break;
      if (!chunk->ok()) {
        for (const Future<R>& future : futures) future.Cancel();
        return MapUnorderedResults(chunk->status());
      }
      for (Future<R>& future : **chunk) futures.push_back(std::move(future));
    }
    return MapUnorderedResults(std::move(futures), deadline);
  }

  MapUnorderedResults(MapUnorderedResults&&) noexcept = default;
  MapUnorderedResults& operator=(MapUnorderedResults&&) noexcept = default;
  ~MapUnorderedResults() { CancelAll(); }

  // Python's next(it): the next result to finish, an error at the deadline,
  // nullopt at the end.
  std::optional<Item> Next() {
    if (!error_.ok()) return Item(std::exchange(error_, absl::OkStatus()));
    if (queue_ == nullptr) return std::nullopt;
    std::optional<absl::StatusOr<size_t>> next = queue_->Next();
    if (!next.has_value()) return std::nullopt;
    if (!next->ok()) {
      CancelAll();
      return Item(MakeError(PythonError::kTimeoutError,
                            "map() result not ready before the timeout"));
    }
    const Future<R>& future = futures_[**next];
    try {
      if constexpr (std::is_void_v<R>) {
        future.Result();
        return Item(Value());
      } else {
        return Item(std::move(future.Result()));
      }
    } catch (...) {
      CancelAll();
      throw;
    }
  }

  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  MapUnorderedResults(std::vector<Future<R>> futures, absl::Time deadline)
      : futures_(std::move(futures)),
        queue_(std::make_unique<internal::CompletionQueue>(
            internal::Cores(futures_), deadline)) {}
  explicit MapUnorderedResults(absl::Status error) : error_(std::move(error)) {}

  void CancelAll() {
    for (const Future<R>& future : futures_) future.Cancel();
    queue_ = nullptr;
  }

  std::vector<Future<R>> futures_;
  std::unique_ptr<internal::CompletionQueue> queue_;  // Null once over.
  absl::Status error_;
};

}  // namespace pyconc::futures

#endif  // PYCONC_THREADING_POOL_MAP_RESULTS_H_
