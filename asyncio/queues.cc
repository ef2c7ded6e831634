#include "asyncio/queues.h"

#include "base/misuse.h"

namespace pyconc::asyncio::internal {

void TaskDoneTooManyTimes() {
  pyconc::internal::Misuse("ValueError", "task_done() called too many times");
}

}  // namespace pyconc::asyncio::internal
