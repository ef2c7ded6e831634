// CancelledError: how cancellation reaches a coroutine.
//
// Python raises asyncio.CancelledError at the await where a cancelled task is
// suspended; pyconc throws asyncio::CancelledError there, so destructors and
// catch blocks clean up as Python's `finally` does. As in Python 3.8+, where
// CancelledError is a BaseException and `except Exception` lets it through,
// CancelledError does NOT derive from std::exception: `catch (const
// std::exception&)` does not swallow a cancellation; `catch (...)` does, and
// should rethrow.
//
// Thread-safety: an immutable value; safe to copy and read from any thread.

#ifndef PYCONC_ASYNCIO_ERRORS_H_
#define PYCONC_ASYNCIO_ERRORS_H_

#include <exception>
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pyconc::asyncio {

// Python's asyncio.CancelledError, carrying the message given to Cancel(msg).
class CancelledError {
 public:
  explicit CancelledError(std::string message = "")
      : message_(std::move(message)) {}

  // The message passed to Task::Cancel / Future::Cancel (Python's args[0]).
  const std::string& message() const { return message_; }
  // "CancelledError" or "CancelledError: <message>", for reports.
  std::string what() const;

 private:
  std::string message_;
};

// What Python passes to an exception handler as the `context` dict
// (EventLoop::SetExceptionHandler).
struct ExceptionContext {
  // Python's context["message"], e.g. "Task exception was never retrieved".
  std::string message;
  // Python's context["exception"]; may be null.
  std::exception_ptr exception;
  // Python's context["future"] / ["task"] / ["handle"]: what it concerns.
  std::string source;
};

namespace internal {

// absl::StatusOr<T>, or absl::Status for void: what an operation whose
// expected failure is a value (TimeoutError, a shut-down executor) returns.
template <typename T>
using StatusOrOf =
    std::conditional_t<std::is_void_v<T>, absl::Status, absl::StatusOr<T>>;

// Python's TimeoutError as a status (MakeError(PythonError::kTimeoutError)).
absl::Status TimeoutErrorStatus();

// True when `e` holds a CancelledError.
bool IsCancelledError(const std::exception_ptr& e);

// One line naming what `e` holds: "CancelledError: msg", "std::runtime_error
// ... what()", or "unknown exception".
std::string DescribeException(const std::exception_ptr& e);

}  // namespace internal
}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_ERRORS_H_
