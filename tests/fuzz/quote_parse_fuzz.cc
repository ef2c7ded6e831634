// Fuzzes the quote parser: libxml2's HTML parser and the scraper's XPaths over
// arbitrary page bytes, then the number reader over arbitrary price text. Any
// input must give a value or a status, never a crash, a hang or a price that
// is not finite.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "threading/stocks/parse.h"
#include "threading/stocks/server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<pyconc::stocks::QuoteFields> fields =
      pyconc::stocks::ParseQuote(input, pyconc::stocks::kPriceXPath,
                                 pyconc::stocks::kChangeXPath);
  if (fields.ok() && !std::isfinite(fields->price)) std::abort();
  const absl::StatusOr<double> number = pyconc::stocks::ParseNumber(input);
  if (number.ok() && !std::isfinite(*number)) std::abort();
  return 0;
}
