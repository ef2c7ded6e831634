#include "tools/cli/cli.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gflags/gflags.h"

DECLARE_bool(help);

namespace pyconc::cli {
namespace {

std::string& ToolName() {
  static std::string* const name = new std::string("tool");
  return *name;
}

}  // namespace

void Init(int* argc, char*** argv, absl::string_view lesson,
          absl::string_view flags_file) {
  const std::string program = (*argv)[0];
  ToolName() = program.substr(program.find_last_of('/') + 1);
  gflags::SetUsageMessage(std::string(lesson));
  gflags::ParseCommandLineNonHelpFlags(argc, argv, /*remove_flags=*/true);
  if (FLAGS_help) {
    gflags::ShowUsageWithFlagsRestrict(program.c_str(),
                                       std::string(flags_file).c_str());
    std::exit(0);
  }
  gflags::HandleCommandLineHelpFlags();
  if (*argc > 1) {
    std::exit(UsageError(
        absl::StrCat("unexpected argument '", (*argv)[1], "' (see --help)")));
  }
}

int UsageError(absl::string_view message) {
  std::fprintf(stderr, "%s: %s\n", ToolName().c_str(),
               std::string(message).c_str());
  return kUsageError;
}

bool CheckFlagRange(absl::string_view flag, int64_t value, int64_t lo,
                    int64_t hi) {
  if (lo <= value && value <= hi) return true;
  UsageError(absl::StrCat("--", flag, " must be in [", lo, ", ", hi, "], not ",
                          value));
  return false;
}

absl::Duration Measure(absl::FunctionRef<void()> work) {
  const absl::Time start = absl::Now();
  work();
  return absl::Now() - start;
}

std::string Ms(absl::Duration duration) {
  return absl::StrFormat("%.1f ms", absl::ToDoubleMilliseconds(duration));
}

void Heading(absl::string_view title) {
  std::printf("\n== %s ==\n", std::string(title).c_str());
}

}  // namespace pyconc::cli
