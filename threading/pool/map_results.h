// MapResults<R>: what ThreadPoolExecutor::Map() returns, Python's generator of
// executor.map() results.
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
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

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
};

template <typename R>
class MapResults {
 public:
  using Value = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
  using Item = absl::StatusOr<Value>;
  using iterator = internal::NextIterator<MapResults, Item>;

  MapResults(std::vector<Future<R>> futures, absl::Time deadline)
      : futures_(std::move(futures)), deadline_(deadline) {}
  // A range of one error element (Map() on an executor refusing work).
  explicit MapResults(absl::Status error) : error_(std::move(error)) {}

  MapResults(MapResults&&) noexcept = default;
  MapResults& operator=(MapResults&&) noexcept = default;
  ~MapResults() { CancelRest(); }

  // Python's next(results): the next result in input order, an error at the
  // deadline, nullopt at the end.
  std::optional<Item> Next() {
    if (!error_.ok()) return Item(std::exchange(error_, absl::OkStatus()));
    if (next_ == futures_.size()) return std::nullopt;
    const Future<R>& future = futures_[next_];
    if (!future.Wait(deadline_ - absl::Now())) {
      CancelRest();
      return Item(MakeError(PythonError::kTimeoutError,
                            "map() result not ready before the timeout"));
    }
    ++next_;
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
  void CancelRest() {
    for (; next_ < futures_.size(); ++next_) futures_[next_].Cancel();
  }

  std::vector<Future<R>> futures_;
  absl::Time deadline_;
  size_t next_ = 0;
  absl::Status error_;
};

}  // namespace pyconc::futures

#endif  // PYCONC_THREADING_POOL_MAP_RESULTS_H_
