#include "sync/barrier/barrier.h"

#include "base/errors.h"
#include "base/misuse.h"
#include "sync/internal/timeout.h"

namespace pyconc::sync {

absl::Status BrokenBarrierError() {
  return MakeError(PythonError::kBrokenBarrierError, "the barrier is broken");
}

Barrier::Barrier(int parties, BarrierOptions options)
    : parties_(parties),
      action_(std::move(options.action)),
      default_timeout_(options.timeout) {
  if (parties < 1)
    pyconc::internal::Misuse("ValueError", "parties must be >= 1");
  internal::CheckTimeout(default_timeout_);
}

Barrier::~Barrier() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &Barrier::Left));
}

absl::StatusOr<int> Barrier::Wait(absl::Duration timeout) {
  internal::CheckTimeout(timeout);
  absl::MutexLock lock(&mu_);
  if (absl::Status entered = Enter(); !entered.ok()) return entered;
  const int index = count_++;
  absl::Status status;
  try {
    if (index + 1 == parties_) {
      ReleaseAll();
    } else {
      status = AwaitRelease(rounds_, timeout);
    }
  } catch (...) {
    Exit();
    throw;
  }
  Exit();
  if (!status.ok()) return status;
  return index;
}

absl::Status Barrier::Enter() {
  // Arrivals for the next round wait until the previous one has left.
  mu_.Await(absl::Condition(this, &Barrier::Passable));
  return state_ == State::kBroken ? BrokenBarrierError() : absl::OkStatus();
}

void Barrier::ReleaseAll() {
  if (action_) {
    try {
      action_();
    } catch (...) {
      Break();
      throw;
    }
  }
  state_ = State::kDraining;
  ++rounds_;
}

absl::Status Barrier::AwaitRelease(uint64_t round, absl::Duration timeout) {
  if (!mu_.AwaitWithTimeout(absl::Condition(this, &Barrier::RoundOver),
                            timeout)) {
    Break();
    return BrokenBarrierError();
  }
  return rounds_ != round ? absl::OkStatus() : BrokenBarrierError();
}

void Barrier::Exit() {
  // The last thread to leave a finished or reset round opens the next one.
  if (--count_ == 0 &&
      (state_ == State::kDraining || state_ == State::kResetting)) {
    state_ = State::kFilling;
  }
}

void Barrier::Break() { state_ = State::kBroken; }

void Barrier::Reset() {
  absl::MutexLock lock(&mu_);
  if (count_ > 0) {
    // Waiters wake with the error; the last to leave makes the barrier usable
    // again.
    if (state_ == State::kFilling || state_ == State::kBroken) {
      state_ = State::kResetting;
    }
  } else {
    state_ = State::kFilling;
  }
}

void Barrier::Abort() {
  absl::MutexLock lock(&mu_);
  Break();
}

int Barrier::n_waiting() const {
  absl::MutexLock lock(&mu_);
  return state_ == State::kFilling ? count_ : 0;
}

bool Barrier::broken() const {
  absl::MutexLock lock(&mu_);
  return state_ == State::kBroken;
}

}  // namespace pyconc::sync
