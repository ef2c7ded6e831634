#include "queue/status.h"

#include "absl/status/status.h"

namespace pyconc::queue {

// Each error is made once and then copied: a copy only counts a reference, so a
// program that polls an empty queue does not allocate a message per call.

absl::Status EmptyError() {
  static const absl::Status* const kEmpty =
      new absl::Status(absl::UnavailableError("queue.Empty"));
  return *kEmpty;
}

absl::Status FullError() {
  static const absl::Status* const kFull =
      new absl::Status(absl::ResourceExhaustedError("queue.Full"));
  return *kFull;
}

absl::Status ShutDownError() {
  static const absl::Status* const kShutDown =
      new absl::Status(absl::FailedPreconditionError("queue.ShutDown"));
  return *kShutDown;
}

bool IsEmpty(const absl::Status& status) { return absl::IsUnavailable(status); }

bool IsFull(const absl::Status& status) {
  return absl::IsResourceExhausted(status);
}

bool IsShutDown(const absl::Status& status) {
  return absl::IsFailedPrecondition(status);
}

}  // namespace pyconc::queue
