#include "asyncio/coroutine.h"

#include <cstdio>
#include <string>

#include "asyncio/debug.h"
#include "base/misuse.h"

namespace pyconc::asyncio::internal {

void ReportNeverAwaited(const Where& where) {
  const std::string line =
      std::string("pyconc.asyncio: RuntimeWarning: coroutine '") +
      where.function + "' (" + where.ShortString() + ") was never awaited\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

void AwaitedTwice(const Where& where) {
  pyconc::internal::Misuse(
      "RuntimeError", std::string("cannot reuse already awaited coroutine '") +
                          where.function + "' (" + where.ShortString() + ")");
}

}  // namespace pyconc::asyncio::internal
