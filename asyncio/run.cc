#include "asyncio/run.h"

#include <vector>

#include "asyncio/task.h"
#include "base/misuse.h"

namespace pyconc::asyncio::internal {

void CheckNoRunningLoop() {
  if (RunningLoopCore() != nullptr) {
    pyconc::internal::Misuse(
        "RuntimeError", "Run() cannot be called from a running event loop");
  }
}

void CancelAllTasks(EventLoop& loop) {
  std::vector<AnyTask> pending = AllTasksOf(loop);
  if (pending.empty()) return;
  for (AnyTask& task : pending) task.Cancel();
  for (AnyTask& task : pending) loop.RunUntilDone(task.base());
  for (AnyTask& task : pending) {
    if (task.Cancelled()) continue;
    if (std::exception_ptr error = task.Exception()) {
      loop.CallExceptionHandler(
          {"unhandled exception during asyncio.run() shutdown", error,
           task.Describe()});
    }
  }
}

}  // namespace pyconc::asyncio::internal
