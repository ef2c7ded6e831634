#include "queue/status.h"

#include "absl/status/status.h"
#include "base/errors.h"

namespace pyconc::queue {

// Each error is made once and then copied: a copy only counts a reference, so a
// program that polls an empty queue does not allocate a message per call.

absl::Status EmptyError() {
  static const absl::Status* const kEmpty =
      new absl::Status(MakeError(PythonError::kQueueEmpty));
  return *kEmpty;
}

absl::Status FullError() {
  static const absl::Status* const kFull =
      new absl::Status(MakeError(PythonError::kQueueFull));
  return *kFull;
}

absl::Status ShutDownError() {
  static const absl::Status* const kShutDown =
      new absl::Status(MakeError(PythonError::kQueueShutDown));
  return *kShutDown;
}

bool IsEmpty(const absl::Status& status) {
  return IsError(status, PythonError::kQueueEmpty);
}

bool IsFull(const absl::Status& status) {
  return IsError(status, PythonError::kQueueFull);
}

bool IsShutDown(const absl::Status& status) {
  return IsError(status, PythonError::kQueueShutDown);
}

}  // namespace pyconc::queue
