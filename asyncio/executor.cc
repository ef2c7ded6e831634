#include "asyncio/executor.h"

#include <string>

#include "absl/status/status.h"
#include "tools/misuse/misuse.h"

namespace pyconc::asyncio::internal {

void ToThreadFailed(const absl::Status& status) {
  pyconc::internal::Misuse("RuntimeError",
                           "ToThread: " + std::string(status.message()));
}

}  // namespace pyconc::asyncio::internal
