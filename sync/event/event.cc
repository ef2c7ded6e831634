#include "sync/event/event.h"

#include "sync/internal/timeout.h"

namespace pyconc::sync {

bool Event::IsSet() const {
  absl::MutexLock lock(&mu_);
  return flag_;
}

void Event::Set() {
  absl::MutexLock lock(&mu_);
  if (!flag_) ++sets_;
  flag_ = true;
}

void Event::Clear() {
  absl::MutexLock lock(&mu_);
  flag_ = false;
}

bool Event::Wait(absl::Duration timeout) {
  internal::CheckTimeout(timeout);
  absl::MutexLock lock(&mu_);
  if (flag_) return true;
  const uint64_t seen = sets_;
  auto was_set = [this, seen] {
    mu_.AssertReaderHeld();  // For the thread-safety analysis.
    return sets_ != seen;
  };
  ++waiting_;
  const bool set = mu_.AwaitWithTimeout(absl::Condition(&was_set), timeout);
  --waiting_;
  return set;
}

}  // namespace pyconc::sync
