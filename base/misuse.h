// Misuse: how pyconc reports a caller's bug.
//
// Where Python raises RuntimeError or ValueError for a programming error
// (starting a thread twice, releasing an unheld lock, calling TaskDone() too
// often), pyconc treats the call as a bug in the caller: it prints one line
// naming the Python exception and aborts, so the bug is found where it happened
// rather than silently tolerated. Expected outcomes (timeouts, empty queues)
// are never misuse; they are values.
//
// Thread-safe: may be called from any thread.

#ifndef PYCONC_BASE_MISUSE_H_
#define PYCONC_BASE_MISUSE_H_

#include "absl/strings/string_view.h"

namespace pyconc::internal {

// Prints "pyconc: <python_error>: <message>" to stderr and aborts the process.
// `python_error` names the exception Python raises, e.g. "RuntimeError".
[[noreturn]] void Misuse(absl::string_view python_error,
                         absl::string_view message);

}  // namespace pyconc::internal

#endif  // PYCONC_BASE_MISUSE_H_
