#include "asyncio/debug.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "asyncio/loop.h"
#include "asyncio/task.h"

namespace pyconc::asyncio {
namespace internal {

std::string Where::ShortString() const {
  const char* slash = std::strrchr(file, '/');
  return absl::StrCat(slash == nullptr ? file : slash + 1, ":", line);
}

}  // namespace internal

std::string DumpTasks(EventLoop& loop) {
  const std::vector<AnyTask> tasks = internal::AllTasksOf(loop);
  std::string out = absl::StrCat(tasks.size(), " pending task",
                                 tasks.size() == 1 ? "" : "s", "\n");
  // Oldest first, as they were created.
  for (auto it = tasks.rbegin(); it != tasks.rend(); ++it) {
    absl::StrAppend(&out, "  ", it->Describe(), "\n");
  }
  return out;
}

bool DebugFromEnvironment() {
  const char* value = std::getenv("PYCONC_ASYNCIO_DEBUG");
  return value != nullptr && value[0] != '\0' && std::strcmp(value, "0") != 0;
}

}  // namespace pyconc::asyncio
