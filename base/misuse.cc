#include "base/misuse.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace pyconc::internal {

void Misuse(absl::string_view python_error, absl::string_view message) {
  // One write, so the line is not interleaved with other threads' output.
  const std::string line =
      absl::StrCat("pyconc: ", python_error, ": ", message, "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
  std::abort();
}

}  // namespace pyconc::internal
