// The command-line conventions every pyconc tool follows.
//
// `--help` prints the tool's lesson (what the tutorial page teaches, in two or
// three sentences) and only the tool's own flags. Bad input gives one line on
// stderr and exit code 2, never a crash. Measurements are wall-clock durations
// printed in ms.
//
// Not thread-safe: call Init() from main before starting threads.

#ifndef PYCONC_TOOLS_CLI_CLI_H_
#define PYCONC_TOOLS_CLI_CLI_H_

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pyconc::cli {

// The exit code of a tool given bad input.
inline constexpr int kUsageError = 2;

// Parses gflags. On --help prints `lesson` and the flags defined in
// `flags_file` (pass __FILE__ from the file that defines them) and exits 0;
// unknown flags exit non-zero.
void Init(int* argc, char*** argv, absl::string_view lesson,
          absl::string_view flags_file);

// Prints "<tool>: <message>" as one line on stderr and exits with kUsageError.
[[noreturn]] void Fail(absl::string_view message);

// The exit code of a tool that ran out of a resource it needed.
inline constexpr int kResourceError = 1;

// Unless `status` is ok: prints "<tool>: <status message>" as one line on
// stderr (e.g. "RuntimeError: can't start new thread ([Errno 11] ...)") and
// exits with kResourceError at once, without waiting for the threads the tool
// already started (they may wait for ones that never came).
void ExitIfError(const absl::Status& status);

// Fails with "--flag must be in [lo, hi], not value" unless lo <= value <= hi.
// (Integer flags convert to double exactly.)
void CheckFlagRange(absl::string_view flag, double value, double lo, double hi);

// The wall-clock time `work` takes.
absl::Duration Measure(absl::FunctionRef<void()> work);

// "950 ns", "12.3 us", "456 ms", "1.20 s": three significant digits and a unit.
std::string FormatDuration(absl::Duration duration);

// Prints a heading for one section of a tool's output.
void Heading(absl::string_view title);

// How many of `up_to` cores this machine can give a CPU-bound run right now:
// `up_to` threads spin for `probe` each, and the CPU time they got, over the
// wall time, is the answer (2.0 on an idle 2-core machine; less when other
// processes hold the cores). A tool whose claim is a CPU-bound speed-up says
// "no" with this number instead of presenting a capped speed-up as the result.
double MeasureFreeCores(int up_to,
                        absl::Duration probe = absl::Milliseconds(100));

// Prints the tutorial's claim and what this run measured, and whether the run
// showed the claim:
//   Tutorial: Without a lock, concurrent updates to a counter are lost.
//   Measured: 232930 of 400000 updates lost without a lock; 0 with the Lock.
//   Shown:    yes
// When it did not, `why_not` says why ("only one thread ran"); the tour
// collects these lines into its summary.
void Claim(absl::string_view tutorial, absl::string_view measured, bool shown,
           absl::string_view why_not = "");

}  // namespace pyconc::cli

#endif  // PYCONC_TOOLS_CLI_CLI_H_
