// What Map() of either pool (ThreadPoolExecutor, ProcessPoolExecutor) must do
// alike, written once for both tests.

#ifndef PYCONC_TESTS_TESTING_MAP_CHECKS_H_
#define PYCONC_TESTS_TESTING_MAP_CHECKS_H_

#include <string>
#include <type_traits>
#include <vector>

#include "gtest/gtest.h"

// <ranges> where the compiler can build it (clang 14 cannot, with libstdc++
// 12): std::views as a user passes them.
#if !defined(__clang__) || __clang_major__ >= 15
#define PYCONC_TEST_STD_VIEWS 1
#include <ranges>
#endif

namespace pyconc::testing {

// The values of a Map()'s results, in order (each result must be ok).
template <typename Range>
auto Collect(Range&& results) {
  std::vector<typename std::decay_t<Range>::Value> values;
  for (auto& result : results) values.push_back(*result);
  return values;
}

#if PYCONC_TEST_STD_VIEWS
// Map() takes std::views as a user passes them: a transformed view, read once
// per item, beside an endless iota (the shortest range ends the map), and an
// endless iota alone with 3.14's buffersize, read only as far as needed.
// `add(x, y)` returns x + y and `str(x)` std::to_string(x).
template <typename Pool>
void ExpectMapTakesStdViews(Pool& pool, int (*add)(int, int),
                            std::string (*str)(int)) {
  int taken = 0;  // Read only on this thread, which runs the range.
  auto counted =
      std::views::iota(0, 3) | std::views::transform([&taken](int i) {
        ++taken;
        return i;
      });
  EXPECT_EQ(Collect(pool.Map(add, counted, std::views::iota(10))),
            (std::vector<int>{10, 12, 14}));
  EXPECT_EQ(taken, 3);
  auto endless = pool.Map(str, std::views::iota(0), {.buffersize = 1});
  EXPECT_EQ(**endless.begin(), "0");
}
#endif

}  // namespace pyconc::testing

#endif  // PYCONC_TESTS_TESTING_MAP_CHECKS_H_
