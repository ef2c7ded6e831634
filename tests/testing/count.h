// Count(first, last) and Count(first): the integers std::views::iota(first,
// last) and std::views::iota(first) give, for tests that take ranges.
// Count(...).OnRead(fn) calls fn() each time an element is read, as a lazy
// std::views::transform would, so a test can see how many inputs a consumer
// took.
//
// Tests use these rather than <ranges>, which clang 14 cannot compile with
// libstdc++ 12 (Debian bookworm's pair); a test compiled by g++ also passes
// std::views themselves.

#ifndef PYCONC_TESTS_TESTING_COUNT_H_
#define PYCONC_TESTS_TESTING_COUNT_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <utility>

namespace pyconc::testing {

class Count {
 public:
  // Where a Count ends: `last`, or never.
  struct End {
    std::optional<int> last;
  };

  class Iterator {
   public:
    using value_type = int;
    using difference_type = std::ptrdiff_t;

    Iterator() = default;
    Iterator(int value, std::function<void()> on_read)
        : value_(value), on_read_(std::move(on_read)) {}

    int operator*() const {
      if (on_read_) on_read_();
      return value_;
    }
    Iterator& operator++() {
      ++value_;
      return *this;
    }
    friend bool operator==(const Iterator& it, const End& end) {
      return end.last.has_value() && it.value_ == *end.last;
    }

   private:
    int value_ = 0;
    std::function<void()> on_read_;
  };

  // The integers from `first`, endlessly.
  explicit Count(int first) : first_(first) {}
  // The integers from `first` up to `last`, excluded.
  Count(int first, int last) : first_(first), end_{last} {}

  // This range, calling `on_read` whenever an element is read.
  Count OnRead(std::function<void()> on_read) && {
    on_read_ = std::move(on_read);
    return std::move(*this);
  }

  Iterator begin() const { return Iterator(first_, on_read_); }
  End end() const { return end_; }

 private:
  int first_;
  End end_;
  std::function<void()> on_read_;
};

}  // namespace pyconc::testing

#endif  // PYCONC_TESTS_TESTING_COUNT_H_
