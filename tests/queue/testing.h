// Helpers shared by the queue tests.

#ifndef PYCONC_TESTS_QUEUE_TESTING_H_
#define PYCONC_TESTS_QUEUE_TESTING_H_

#include <utility>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "threading/thread/thread.h"

namespace pyconc::queue::testing {

// How long a blocked call is watched to check that it stays blocked. Only a
// negative check waits this long; nothing relies on it for ordering.
inline constexpr absl::Duration kStillBlocked = absl::Milliseconds(50);

// Runs `blocking` on a thread and checks that it does not return until
// `trigger`, run here, lets it: the port of CPython's do_blocking_test. The
// trigger runs only after the blocking thread has been seen still inside its
// call.
template <typename Blocking, typename Trigger>
void ExpectBlocksUntil(Blocking blocking, Trigger trigger) {
  absl::Notification returned;
  threading::Thread thread([&] {
    blocking();
    returned.Notify();
  });
  EXPECT_TRUE(thread.Start().ok());
  EXPECT_FALSE(returned.WaitForNotificationWithTimeout(kStillBlocked))
      << "the blocking call returned before the trigger ran";
  trigger();
  thread.Join();
  EXPECT_TRUE(returned.HasBeenNotified());
}

}  // namespace pyconc::queue::testing

#endif  // PYCONC_TESTS_QUEUE_TESTING_H_
