// Decodes arbitrary bytes as the values processes send each other. Whatever
// the bytes, Decode() answers a value or pickle.UnpicklingError: it never
// throws, crashes, reads out of bounds or allocates far beyond the input; and
// a value it decodes encodes to bytes that decode and encode the same again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "multiprocessing/process/internal/serialize.h"

namespace {

using pyconc::multiprocessing::internal::Decode;
using pyconc::multiprocessing::internal::Encode;

template <typename T>
void Check(std::string_view bytes) {
  absl::StatusOr<T> value = Decode<T>(bytes);
  if (!value.ok()) return;
  absl::StatusOr<std::string> again = Encode(*value);
  if (!again.ok()) std::abort();
  // Compared as bytes: a NaN decodes to a value unequal to itself.
  absl::StatusOr<T> back = Decode<T>(*again);
  if (!back.ok() || Encode(*back).value() != *again) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Check<bool>(bytes);
  Check<int64_t>(bytes);
  Check<std::string>(bytes);
  Check<std::vector<int>>(bytes);
  Check<std::vector<bool>>(bytes);
  Check<std::vector<std::string>>(bytes);
  Check<std::vector<std::vector<std::string>>>(bytes);
  Check<std::map<std::string, int>>(bytes);
  Check<std::tuple<int, std::string, std::vector<bool>>>(bytes);
  Check<std::variant<int, std::string>>(bytes);
  Check<std::optional<std::vector<double>>>(bytes);
  return 0;
}
