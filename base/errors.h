// The error vocabulary: each Python exception pyconc reports as a value, named
// once.
//
// pyconc returns expected outcomes (an empty queue, a timeout, a closed pipe)
// as an absl::Status instead of raising. Every package builds those statuses
// here, so one Python exception has one absl::StatusCode everywhere and a
// message that starts with the exception's Python name:
//
//   MakeError(PythonError::kQueueFull)             -> kResourceExhausted
//   "queue.Full" MakeError(PythonError::kEOFError, "mid-frame") -> kOutOfRange
//   "EOFError: mid-frame" ErrnoError(EPIPE, "send")  -> kAborted
//   "BrokenPipeError: [Errno 32] Broken pipe: send"
//
// and callers test for one as Python code writes `except queue.Full:`:
//
//   if (IsError(status, PythonError::kQueueFull)) ...
//
// Several exceptions share a code (absl has fewer codes than Python has
// exception classes); IsError() tells them apart by the message prefix, and
// knows Python's class tree (`except OSError:` catches a BrokenPipeError). The
// README's "Errors" table lists the same mapping, and a test walks it.
//
// Thread-safety: every function here is pure and may be called from any thread.

#ifndef PYCONC_BASE_ERRORS_H_
#define PYCONC_BASE_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace pyconc {

// A Python exception that pyconc reports as an absl::Status.
enum class PythonError {
  kQueueEmpty,              // queue.Empty
  kQueueFull,               // queue.Full
  kQueueShutDown,           // queue.ShutDown (3.13)
  kAsyncioQueueEmpty,       // asyncio.QueueEmpty
  kAsyncioQueueFull,        // asyncio.QueueFull
  kAsyncioQueueShutDown,    // asyncio.QueueShutDown (3.13)
  kTimeoutError,            // TimeoutError (also asyncio's and futures')
  kCancelledError,          // CancelledError (a cancelled future's outcome)
  kBrokenBarrierError,      // threading.BrokenBarrierError
  kRuntimeError,            // RuntimeError (e.g. submit after shutdown)
  kBrokenExecutor,          // concurrent.futures.BrokenExecutor
  kBrokenProcessPool,       // concurrent.futures.process.BrokenProcessPool
  kEOFError,                // EOFError (a connection closed)
  kIncompleteReadError,     // asyncio.IncompleteReadError (an EOFError)
  kLimitOverrunError,       // asyncio.LimitOverrunError
  kBrokenPipeError,         // BrokenPipeError (EPIPE)
  kConnectionResetError,    // ConnectionResetError (ECONNRESET)
  kConnectionAbortedError,  // ConnectionAbortedError (ECONNABORTED)
  kConnectionRefusedError,  // ConnectionRefusedError (ECONNREFUSED)
  kFileNotFoundError,       // FileNotFoundError (ENOENT)
  kFileExistsError,         // FileExistsError (EEXIST)
  kPermissionError,         // PermissionError (EACCES, EPERM)
  kProcessLookupError,      // ProcessLookupError (ESRCH)
  kOSError,                 // OSError, any other errno
  kValueError,              // ValueError (a bad argument value)
  kPicklingError,           // pickle.PicklingError (cannot serialize)
  kUnpicklingError,         // pickle.UnpicklingError (bad bytes)
};

// The Python name, e.g. "queue.Full" or "BrokenPipeError".
absl::string_view PythonName(PythonError error);

// The one absl::StatusCode that `error` has in every pyconc package.
absl::StatusCode StatusCodeOf(PythonError error);

// Every PythonError, in declaration order (for tests and documentation).
absl::Span<const PythonError> AllPythonErrors();

// The status for `error`: message "<name>", or "<name>: <detail>".
absl::Status MakeError(PythonError error, absl::string_view detail = {});

// Whether `status` is `error` or one of its subclasses, as `except error:`
// decides: the message starts with a Python name (alone or followed by ": ")
// whose code the status carries, and that exception is `error` or derives from
// it (BrokenPipeError is an OSError, BrokenProcessPool a BrokenExecutor,
// IncompleteReadError an EOFError).
bool IsError(const absl::Status& status, PythonError error);

// The subclass of OSError that Python raises for `errno_value` (ETIMEDOUT is a
// TimeoutError, EPIPE a BrokenPipeError, anything unnamed an OSError).
PythonError PythonErrorOfErrno(int errno_value);

// "[Errno 11] Resource temporarily unavailable": the errno's number and text
// as Python's OSError prints them, for a message whose exception is not an
// OSError (Python's "can't start new thread" is a RuntimeError).
std::string ErrnoText(int errno_value);

// The status Python's OSError for `errno_value` maps to, with the errno's text
// as Python prints it: "BrokenPipeError: [Errno 32] Broken pipe: <context>".
// Running out (EMFILE, ENFILE, ENOMEM, EAGAIN, ENOSPC) is kResourceExhausted.
absl::Status ErrnoError(int errno_value, absl::string_view context);

}  // namespace pyconc

#endif  // PYCONC_BASE_ERRORS_H_
