#include "base/errors.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/types/span.h"

namespace pyconc {
namespace {

struct Entry {
  PythonError error;
  absl::string_view name;
  absl::StatusCode code;
  PythonError parent;  // Python's base class, or `error` itself at the root
};

using Code = absl::StatusCode;
using E = PythonError;

// The vocabulary, in PythonError's order; the README's "Errors" table mirrors
// it.
constexpr Entry kEntries[] = {
    {E::kQueueEmpty, "queue.Empty", Code::kUnavailable, E::kQueueEmpty},
    {E::kQueueFull, "queue.Full", Code::kResourceExhausted, E::kQueueFull},
    {E::kQueueShutDown, "queue.ShutDown", Code::kFailedPrecondition,
     E::kQueueShutDown},
    {E::kAsyncioQueueEmpty, "asyncio.QueueEmpty", Code::kUnavailable,
     E::kAsyncioQueueEmpty},
    {E::kAsyncioQueueFull, "asyncio.QueueFull", Code::kResourceExhausted,
     E::kAsyncioQueueFull},
    {E::kAsyncioQueueShutDown, "asyncio.QueueShutDown",
     Code::kFailedPrecondition, E::kAsyncioQueueShutDown},
    {E::kTimeoutError, "TimeoutError", Code::kDeadlineExceeded, E::kOSError},
    {E::kCancelledError, "CancelledError", Code::kCancelled,
     E::kCancelledError},
    {E::kBrokenBarrierError, "threading.BrokenBarrierError", Code::kAborted,
     E::kBrokenBarrierError},
    {E::kRuntimeError, "RuntimeError", Code::kFailedPrecondition,
     E::kRuntimeError},
    {E::kBrokenExecutor, "BrokenExecutor", Code::kUnavailable,
     E::kBrokenExecutor},
    {E::kBrokenProcessPool, "BrokenProcessPool", Code::kUnavailable,
     E::kBrokenExecutor},
    {E::kEOFError, "EOFError", Code::kOutOfRange, E::kEOFError},
    {E::kIncompleteReadError, "asyncio.IncompleteReadError", Code::kOutOfRange,
     E::kEOFError},
    {E::kLimitOverrunError, "asyncio.LimitOverrunError",
     Code::kResourceExhausted, E::kLimitOverrunError},
    {E::kBrokenPipeError, "BrokenPipeError", Code::kAborted, E::kOSError},
    {E::kConnectionResetError, "ConnectionResetError", Code::kAborted,
     E::kOSError},
    {E::kConnectionAbortedError, "ConnectionAbortedError", Code::kAborted,
     E::kOSError},
    {E::kConnectionRefusedError, "ConnectionRefusedError", Code::kUnavailable,
     E::kOSError},
    {E::kFileNotFoundError, "FileNotFoundError", Code::kNotFound, E::kOSError},
    {E::kFileExistsError, "FileExistsError", Code::kAlreadyExists, E::kOSError},
    {E::kPermissionError, "PermissionError", Code::kPermissionDenied,
     E::kOSError},
    {E::kProcessLookupError, "ProcessLookupError", Code::kNotFound,
     E::kOSError},
    {E::kOSError, "OSError", Code::kInternal, E::kOSError},
    {E::kValueError, "ValueError", Code::kInvalidArgument, E::kValueError},
    {E::kPicklingError, "pickle.PicklingError", Code::kInvalidArgument,
     E::kPicklingError},
    {E::kUnpicklingError, "pickle.UnpicklingError", Code::kDataLoss,
     E::kUnpicklingError},
};
constexpr size_t kCount = sizeof(kEntries) / sizeof(kEntries[0]);

constexpr bool EntriesFollowTheEnum() {
  for (size_t i = 0; i < kCount; ++i) {
    if (static_cast<size_t>(kEntries[i].error) != i) return false;
  }
  return true;
}
static_assert(EntriesFollowTheEnum(),
              "kEntries must follow PythonError's order");

const Entry& EntryOf(PythonError error) {
  return kEntries[static_cast<size_t>(error)];
}

// An OSError for running out of something carries kResourceExhausted, so that a
// caller who only looks at codes sees "out of resources" (as absl's own errno
// mapping does).
bool RunsOut(int errno_value) {
  return errno_value == EMFILE || errno_value == ENFILE ||
         errno_value == ENOMEM || errno_value == EAGAIN ||
         errno_value == ENOSPC || errno_value == ENOBUFS;
}

// The entry whose name starts `message` (followed by its end or ": ").
const Entry* NamedBy(absl::string_view message) {
  for (const Entry& entry : kEntries) {
    absl::string_view rest = message;
    if (absl::ConsumePrefix(&rest, entry.name) &&
        (rest.empty() || absl::StartsWith(rest, ": "))) {
      return &entry;
    }
  }
  return nullptr;
}

}  // namespace

absl::string_view PythonName(PythonError error) { return EntryOf(error).name; }

absl::StatusCode StatusCodeOf(PythonError error) { return EntryOf(error).code; }

absl::Span<const PythonError> AllPythonErrors() {
  static const auto* const kAll = [] {
    auto* all = new std::vector<PythonError>;
    for (const Entry& entry : kEntries) all->push_back(entry.error);
    return all;
  }();
  return *kAll;
}

absl::Status MakeError(PythonError error, absl::string_view detail) {
  const Entry& entry = EntryOf(error);
  if (detail.empty()) return absl::Status(entry.code, entry.name);
  return absl::Status(entry.code, absl::StrCat(entry.name, ": ", detail));
}

bool IsError(const absl::Status& status, PythonError error) {
  const Entry* entry = NamedBy(status.message());
  if (entry == nullptr) return false;
  const bool code_matches =
      status.code() == entry->code ||
      (entry->error == PythonError::kOSError &&
       status.code() == absl::StatusCode::kResourceExhausted);
  if (!code_matches) return false;
  // Python's `except OSError:` also catches BrokenPipeError: walk up the
  // classes.
  for (;;) {
    if (entry->error == error) return true;
    if (entry->parent == entry->error) return false;
    entry = &EntryOf(entry->parent);
  }
}

PythonError PythonErrorOfErrno(int errno_value) {
  switch (errno_value) {
    case ETIMEDOUT:
      return PythonError::kTimeoutError;
    case EPIPE:
      return PythonError::kBrokenPipeError;
    case ECONNRESET:
      return PythonError::kConnectionResetError;
    case ECONNABORTED:
      return PythonError::kConnectionAbortedError;
    case ECONNREFUSED:
      return PythonError::kConnectionRefusedError;
    case ENOENT:
      return PythonError::kFileNotFoundError;
    case EEXIST:
      return PythonError::kFileExistsError;
    case EACCES:
    case EPERM:
      return PythonError::kPermissionError;
    case ESRCH:
      return PythonError::kProcessLookupError;
    default:
      return PythonError::kOSError;
  }
}

std::string ErrnoText(int errno_value) {
  return absl::StrCat("[Errno ", errno_value, "] ", std::strerror(errno_value));
}

absl::Status ErrnoError(int errno_value, absl::string_view context) {
  const PythonError error = PythonErrorOfErrno(errno_value);
  const std::string detail = absl::StrCat(ErrnoText(errno_value),
                                          context.empty() ? "" : ": ", context);
  absl::Status status = MakeError(error, detail);
  if (error == PythonError::kOSError && RunsOut(errno_value)) {
    return absl::Status(absl::StatusCode::kResourceExhausted, status.message());
  }
  return status;
}

}  // namespace pyconc
