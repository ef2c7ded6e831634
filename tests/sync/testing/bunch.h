// Test helpers for the sync tests: a bunch of threads (after lock_tests.py's
// Bunch), elapsed-time checks for timeouts, and thread-safe death tests.

#ifndef PYCONC_TESTS_SYNC_TESTING_BUNCH_H_
#define PYCONC_TESTS_SYNC_TESTING_BUNCH_H_

#include <deque>
#include <functional>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "threading/thread/thread.h"

namespace pyconc::sync::testing {

// Runs f(0) ... f(n - 1), each on its own pyconc thread, started at
// construction and joined by Join() or the destructor.
class Bunch {
 public:
  Bunch(int n, const std::function<void(int)>& f) {
    for (int i = 0; i < n; ++i) {
      EXPECT_TRUE(threads_.emplace_back(f, i).Start().ok());
    }
  }
  Bunch(const Bunch&) = delete;
  Bunch& operator=(const Bunch&) = delete;
  ~Bunch() { Join(); }

  void Join() {
    for (threading::Thread& thread : threads_) thread.Join();
  }

 private:
  std::deque<threading::Thread> threads_;
};

// Calls `wait`, which must time out (return false) after `timeout`, and checks
// that it did and that it took at least `timeout`.
template <typename F>
void ExpectTimesOut(absl::Duration timeout, F wait) {
  const absl::Time start = absl::Now();
  EXPECT_FALSE(wait(timeout));
  EXPECT_GE(absl::Now() - start, timeout);
}

// Death tests re-run the test binary rather than fork a process that has
// threads.
inline void UseThreadsafeDeathTests() {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
}

}  // namespace pyconc::sync::testing

#endif  // PYCONC_TESTS_SYNC_TESTING_BUNCH_H_
