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
    Fail(absl::StrCat("unexpected argument '", (*argv)[1], "' (see --help)"));
  }
}

void Fail(absl::string_view message) {
  const std::string line = absl::StrCat(ToolName(), ": ", message, "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::exit(kUsageError);
}

void CheckFlagRange(absl::string_view flag, double value, double lo,
                    double hi) {
  if (!(lo <= value && value <= hi)) {
    // Integer flags print as integers ("100000000", not "1e+08").
    const auto number = [](double x) { return absl::StrFormat("%.15g", x); };
    Fail(absl::StrCat("--", flag, " must be in [", number(lo), ", ", number(hi),
                      "], not ", number(value)));
  }
}

absl::Duration Measure(absl::FunctionRef<void()> work) {
  const absl::Time start = absl::Now();
  work();
  return absl::Now() - start;
}

std::string FormatDuration(absl::Duration duration) {
  const double ns = absl::ToDoubleNanoseconds(duration);
  if (ns < 1e3) return absl::StrFormat("%.0f ns", ns);
  if (ns < 1e6) return absl::StrFormat("%.3g us", ns / 1e3);
  if (ns < 1e9) return absl::StrFormat("%.3g ms", ns / 1e6);
  return absl::StrFormat("%.3g s", ns / 1e9);
}

void Heading(absl::string_view title) {
  std::printf("\n== %s ==\n", std::string(title).c_str());
}

}  // namespace pyconc::cli
