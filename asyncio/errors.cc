#include "asyncio/errors.h"

#include <exception>
#include <string>

#include "absl/status/status.h"
#include "base/errors.h"

namespace pyconc::asyncio {

std::string CancelledError::what() const {
  return message_.empty() ? "CancelledError" : "CancelledError: " + message_;
}

namespace internal {

absl::Status TimeoutErrorStatus() {
  return MakeError(PythonError::kTimeoutError);
}

bool IsCancelledError(const std::exception_ptr& e) {
  if (e == nullptr) return false;
  try {
    std::rethrow_exception(e);
  } catch (const CancelledError&) {
    return true;
  } catch (...) {
    return false;
  }
}

std::string DescribeException(const std::exception_ptr& e) {
  if (e == nullptr) return "no exception";
  try {
    std::rethrow_exception(e);
  } catch (const CancelledError& error) {
    return error.what();
  } catch (const std::exception& error) {
    return std::string("exception: ") + error.what();
  } catch (...) {
    return "unknown exception (not derived from std::exception)";
  }
}

}  // namespace internal
}  // namespace pyconc::asyncio
