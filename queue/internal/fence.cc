#include "queue/internal/fence.h"

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace pyconc::queue::internal {
namespace {

bool RegisterMembarrier() {
#if defined(__linux__) && defined(SYS_membarrier)
  const long commands = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (commands < 0 || (commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) {
    return false;
  }
  return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0,
                 0) == 0;
#else
  return false;
#endif
}

}  // namespace

bool HaveMembarrier() {
  static const bool kHave = RegisterMembarrier();
  return kHave;
}

void HeavyFence() {
#if defined(__linux__) && defined(SYS_membarrier)
  if (HaveMembarrier()) {
    // Also a full fence in this thread. It cannot fail once registered.
    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    return;
  }
#endif
  FullFence();
}

}  // namespace pyconc::queue::internal
