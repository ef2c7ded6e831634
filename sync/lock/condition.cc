#include "sync/lock/condition.h"

#include "absl/strings/str_cat.h"
#include "base/misuse.h"
#include "sync/internal/timeout.h"

namespace pyconc::sync {

Condition::Condition()
    : own_lock_(std::make_unique<RLock>()), lock_(own_lock_.get()) {}
Condition::Condition(Lock& lock) : lock_(&lock) {}
Condition::Condition(RLock& lock) : lock_(&lock) {}

Condition::~Condition() {
  absl::MutexLock lock(&mu_);
  if (!waiters_.empty()) {
    pyconc::internal::Misuse("RuntimeError",
                             "Condition destroyed while threads wait on it");
  }
}

void Condition::Acquire() {
  std::visit([](auto* lock) ABSL_NO_THREAD_SAFETY_ANALYSIS { lock->Acquire(); },
             lock_);
}

bool Condition::Acquire(bool blocking, absl::Duration timeout) {
  return std::visit(
      [&](auto* lock) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return lock->Acquire(blocking, timeout);
      },
      lock_);
}

void Condition::Release() {
  std::visit([](auto* lock) ABSL_NO_THREAD_SAFETY_ANALYSIS { lock->Release(); },
             lock_);
}

bool Condition::IsOwned() const {
  if (const auto* rlock = std::get_if<RLock*>(&lock_))
    return (*rlock)->IsOwned();
  return std::get<Lock*>(lock_)->Locked();
}

int64_t Condition::ReleaseSave() {
  if (const auto* rlock = std::get_if<RLock*>(&lock_))
    return (*rlock)->ReleaseSave();
  std::get<Lock*>(lock_)->Release();
  return 1;
}

void Condition::AcquireRestore(int64_t saved) {
  if (const auto* rlock = std::get_if<RLock*>(&lock_)) {
    (*rlock)->AcquireRestore(saved);
  } else {
    std::get<Lock*>(lock_)->Acquire();
  }
}

void Condition::CheckOwned(const char* what) const {
  if (!IsOwned()) {
    pyconc::internal::Misuse(
        "RuntimeError", absl::StrCat("cannot ", what, " on un-acquired lock"));
  }
}

bool Condition::Wait(absl::Duration timeout) {
  internal::CheckTimeout(timeout);
  CheckOwned("wait");
  Waiter waiter;
  std::list<Waiter*>::iterator position;
  {
    absl::MutexLock lock(&mu_);
    position = waiters_.insert(waiters_.end(), &waiter);
  }
  // Registered before the lock is let go, so a Notify made under the lock after
  // this point cannot miss this waiter.
  const int64_t saved = ReleaseSave();
  bool notified;
  {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(&waiter.notified), timeout)) {
      waiters_.erase(position);
    }
    notified = waiter.notified;
  }
  AcquireRestore(saved);
  return notified;
}

void Condition::Notify(int n) {
  CheckOwned("notify");
  absl::MutexLock lock(&mu_);
  for (; n > 0 && !waiters_.empty(); --n) {
    waiters_.front()->notified = true;
    waiters_.pop_front();
  }
}

void Condition::NotifyAll() {
  CheckOwned("notify");
  absl::MutexLock lock(&mu_);
  for (Waiter* waiter : waiters_) waiter->notified = true;
  waiters_.clear();
}

}  // namespace pyconc::sync
