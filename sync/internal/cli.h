// What the sync tools share: flag parsing with a teaching --help, one-line
// failures on bad flags, and durations printed with their units.

#ifndef PYCONC_SYNC_INTERNAL_CLI_H_
#define PYCONC_SYNC_INTERNAL_CLI_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pyconc::sync::internal {

// Sets `usage` (the topic in two or three sentences) as --help's text, then
// parses and removes the flags. Positional arguments are an error.
void ParseFlags(int* argc, char*** argv, absl::string_view usage);

// Prints "<tool>: <message>" as one line on stderr and exits with status 2.
[[noreturn]] void Fail(absl::string_view message);

// Fails unless lo <= value <= hi, naming the flag (integer flags convert
// exactly).
void CheckFlagRange(absl::string_view flag, double value, double lo, double hi);

// "950 ns", "12.3 us", "4.56 ms", "1.20 s": three significant digits and a
// unit.
std::string FormatDuration(absl::Duration duration);

}  // namespace pyconc::sync::internal

#endif  // PYCONC_SYNC_INTERNAL_CLI_H_
