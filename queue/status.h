// The outcomes of queue operations that Python reports with an exception.
//
// pyconc returns expected outcomes as values (see DESIGN.md, "Errors"). Each of
// the queue module's exceptions is made by //base:errors, so it has one
// absl::StatusCode, the same in every pyconc module, and a message that starts
// with the Python name:
//
//   Python           absl::StatusCode      returned by
//   queue.Empty      kUnavailable          Get, GetNowait: no item in time
//   queue.Full       kResourceExhausted    Put, PutNowait: no room in time
//   queue.ShutDown   kFailedPrecondition   Put after Shutdown(); Get after
//                                          Shutdown() once the queue is empty
//
// Test for them with IsEmpty(status), IsFull(status) and IsShutDown(status)
// (//base:errors' IsError), as Python code writes `except queue.Empty:`.
//
// Thread-safety: every function here is pure.

#ifndef PYCONC_QUEUE_STATUS_H_
#define PYCONC_QUEUE_STATUS_H_

#include "absl/status/status.h"

namespace pyconc::queue {

// Python's queue.Empty, raised by get()/get_nowait().
absl::Status EmptyError();
// Python's queue.Full, raised by put()/put_nowait().
absl::Status FullError();
// Python's queue.ShutDown (3.13), raised by put() and get() after shutdown().
absl::Status ShutDownError();

// Whether `status` is the value of the Python exception of the same name.
bool IsEmpty(const absl::Status& status);
bool IsFull(const absl::Status& status);
bool IsShutDown(const absl::Status& status);

}  // namespace pyconc::queue

#endif  // PYCONC_QUEUE_STATUS_H_
