#include "base/futex.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>

#include "absl/time/clock.h"

namespace pyconc::internal {
namespace {

int Operation(int op, FutexScope scope) {
  return scope == FutexScope::kProcess ? op | FUTEX_PRIVATE_FLAG : op;
}

}  // namespace

bool FutexWait(const std::atomic<uint32_t>* word, uint32_t expected,
               absl::Time deadline, FutexScope scope) {
  timespec relative;
  timespec* timeout = nullptr;
  if (deadline != absl::InfiniteFuture()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    relative = absl::ToTimespec(left);
    timeout = &relative;
  }
  const long result =
      ::syscall(SYS_futex, const_cast<std::atomic<uint32_t>*>(word),
                Operation(FUTEX_WAIT, scope), expected, timeout, nullptr, 0);
  return result == 0 || errno != ETIMEDOUT;
}

void FutexWake(const std::atomic<uint32_t>* word, int count, FutexScope scope) {
  ::syscall(SYS_futex, const_cast<std::atomic<uint32_t>*>(word),
            Operation(FUTEX_WAKE, scope), count, nullptr, nullptr, 0);
}

}  // namespace pyconc::internal
