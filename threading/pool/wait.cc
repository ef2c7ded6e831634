#include "threading/pool/wait.h"

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/errors.h"

namespace pyconc::futures::internal {

class Completions final : public Waiter {
 public:
  // Called by a Future that is done, with its lock held.
  void Add(size_t index, const FutureCore& future) override {
    absl::MutexLock lock(&mu_);
    finished_.push_back(index);
    if (future.phase() == FutureCore::kFinished &&
        future.exception() != nullptr) {
      ++exceptions_;
    }
  }

  // Blocks until `return_when` holds for `total` registered Futures, or until
  // `deadline`.
  void AwaitUntil(ReturnWhen return_when, size_t total, absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    return_when_ = return_when;
    total_ = total;
    mu_.AwaitWithDeadline(absl::Condition(this, &Completions::Satisfied),
                          deadline);
  }

  // Blocks until the `position`-th Future has finished, or until `deadline`;
  // answers its index.
  std::optional<size_t> AwaitNth(size_t position, absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    wanted_ = position + 1;
    if (!mu_.AwaitWithDeadline(absl::Condition(this, &Completions::HasWanted),
                               deadline)) {
      return std::nullopt;
    }
    return finished_[position];
  }

  std::vector<size_t> Finished() {
    absl::MutexLock lock(&mu_);
    return finished_;
  }

 private:
  bool Satisfied() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_.size() == total_) return true;
    switch (return_when_) {
      case ReturnWhen::kFirstCompleted:
        return !finished_.empty();
      case ReturnWhen::kFirstException:
        return exceptions_ > 0;
      case ReturnWhen::kAllCompleted:
        return false;
    }
    return false;
  }
  bool HasWanted() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return finished_.size() >= wanted_;
  }

  absl::Mutex mu_;
  std::vector<size_t> finished_ ABSL_GUARDED_BY(mu_);
  size_t exceptions_ ABSL_GUARDED_BY(mu_) = 0;
  ReturnWhen return_when_ ABSL_GUARDED_BY(mu_) = ReturnWhen::kAllCompleted;
  size_t total_ ABSL_GUARDED_BY(mu_) = 0;
  size_t wanted_ ABSL_GUARDED_BY(mu_) = 0;
};

std::vector<bool> WaitForCores(absl::Span<FutureCore* const> cores,
                               const WaitOptions& options) {
  const absl::Time deadline = absl::Now() + options.timeout;
  Completions completions;
  for (size_t i = 0; i < cores.size(); ++i)
    cores[i]->AddWaiter(&completions, i);
  completions.AwaitUntil(options.return_when, cores.size(), deadline);
  for (FutureCore* core : cores) core->RemoveWaiter(&completions);
  // After removal nothing adds more: the answer is one consistent snapshot.
  std::vector<bool> done(cores.size(), false);
  for (size_t index : completions.Finished()) done[index] = true;
  return done;
}

CompletionQueue::CompletionQueue(std::vector<FutureCore*> cores,
                                 absl::Time deadline)
    : cores_(std::move(cores)),
      deadline_(deadline),
      completions_(std::make_unique<Completions>()) {
  // Futures done already are added during registration, in input order.
  for (size_t i = 0; i < cores_.size(); ++i) {
    cores_[i]->AddWaiter(completions_.get(), i);
  }
}

CompletionQueue::~CompletionQueue() {
  for (FutureCore* core : cores_) core->RemoveWaiter(completions_.get());
}

std::optional<absl::StatusOr<size_t>> CompletionQueue::Next() {
  if (timed_out_ || yielded_ == cores_.size()) return std::nullopt;
  std::optional<size_t> index = completions_->AwaitNth(yielded_, deadline_);
  if (!index.has_value()) {
    timed_out_ = true;
    return absl::StatusOr<size_t>(
        MakeError(PythonError::kTimeoutError,
                  absl::StrCat(cores_.size() - yielded_, " (of ", cores_.size(),
                               ") futures unfinished")));
  }
  ++yielded_;
  return absl::StatusOr<size_t>(*index);
}

}  // namespace pyconc::futures::internal
