#include "sync/internal/cli.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gflags/gflags.h"

DECLARE_bool(help);
DECLARE_bool(helpshort);

namespace pyconc::sync::internal {
namespace {

// "lock/tool" for .../sync/lock/tool: every tool binary is called `tool`.
std::string ToolName() {
  const std::string path = gflags::ProgramInvocationName();
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return path;
  const size_t parent = path.rfind('/', slash - 1);
  return path.substr(parent == std::string::npos ? 0 : parent + 1);
}

}  // namespace

void ParseFlags(int* argc, char*** argv, absl::string_view usage) {
  gflags::SetUsageMessage(std::string(usage));
  gflags::ParseCommandLineNonHelpFlags(argc, argv, /*remove_flags=*/true);
  // --help lists only the tool's own flags, not gflags' internal ones.
  if (FLAGS_help) {
    FLAGS_help = false;
    FLAGS_helpshort = true;
  }
  gflags::HandleCommandLineHelpFlags();
  if (*argc > 1)
    Fail(absl::StrCat("unexpected argument '", (*argv)[1], "'; see --help"));
}

void Fail(absl::string_view message) {
  const std::string line = absl::StrCat(ToolName(), ": ", message, "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::exit(2);
}

void CheckFlagRange(absl::string_view flag, double value, double lo,
                    double hi) {
  if (!(value >= lo && value <= hi)) {
    Fail(absl::StrCat("--", flag, " must be between ", lo, " and ", hi,
                      " (got ", value, ")"));
  }
}

std::string FormatDuration(absl::Duration duration) {
  const double ns = absl::ToDoubleNanoseconds(duration);
  if (ns < 1e3) return absl::StrFormat("%.0f ns", ns);
  if (ns < 1e6) return absl::StrFormat("%.3g us", ns / 1e3);
  if (ns < 1e9) return absl::StrFormat("%.3g ms", ns / 1e6);
  return absl::StrFormat("%.3g s", ns / 1e9);
}

}  // namespace pyconc::sync::internal
