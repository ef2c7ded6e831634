// Stopping a thread cooperatively: a wait that a stop request cuts short.
//
// C++ cannot kill a thread, and neither can Python: a worker is asked to stop
// and checks for the request itself. The tutorial's way is a threading.Event
// the worker polls between steps; C++20's way is a std::stop_token, which
// pyconc's Thread passes to a target that takes one and signals with
// Thread::RequestStop(). Either way, a worker that sleeps between steps must
// sleep in a wait the request interrupts, or it reacts only after its next
// sleep. For an Event that wait is Event::Wait(timeout); for a stop_token it is
// WaitForStop below:
//
// clang-format off
//   Python                          pyconc
//   while not stop_event.wait(1):   while (!sync::WaitForStop(
//                                              token, absl::Seconds(1))) {
//       work()                        work();
//                                   }
// clang-format on
//
// Thread-safety: may be called from any thread, with tokens shared between
// threads. Memory ordering: what a thread wrote before request_stop() is
// visible to a caller that WaitForStop() returned true to.

#ifndef PYCONC_SYNC_STOP_STOP_H_
#define PYCONC_SYNC_STOP_STOP_H_

#include <stop_token>

#include "absl/time/time.h"

namespace pyconc::sync {

// Waits until a stop is requested on `token` or `timeout` passes; returns
// whether a stop was requested. Returns at once when it already was; a token
// that can never be stopped just sleeps for `timeout`. A negative timeout is
// Python's ValueError.
bool WaitForStop(const std::stop_token& token,
                 absl::Duration timeout = absl::InfiniteDuration());

}  // namespace pyconc::sync

#endif  // PYCONC_SYNC_STOP_STOP_H_
