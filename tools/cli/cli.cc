#include "tools/cli/cli.h"

#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "base/trace.h"
#include "base/trace_json.h"
#include "gflags/gflags.h"

DECLARE_bool(help);
DEFINE_string(
    trace, "",
    "Write a timeline of this run to FILE (Chrome Trace Event JSON; open "
    "it in ui.perfetto.dev or chrome://tracing).");

namespace pyconc::cli {
namespace {

std::string& ToolName() {
  static std::string* const name = new std::string("tool");
  return *name;
}

// A flag a learner may set: defined in the tool's own file and not marked
// "Internal:" (a flag the tool passes to a copy of itself).
bool IsPublicFlag(const gflags::CommandLineFlagInfo& flag,
                  absl::string_view flags_file) {
  return flag.filename == flags_file &&
         !absl::StartsWith(flag.description, "Internal:");
}

// "N" for --jobs, "MS" for --latency_ms, "TEXT" for a string.
std::string Placeholder(const gflags::CommandLineFlagInfo& flag) {
  if (absl::EndsWith(flag.name, "_ms")) return "MS";
  if (flag.type == "string") return "TEXT";
  if (flag.type == "double") return "X";
  return "N";
}

// "tools/bazel run //sync/lock:tool --" for sync/lock/tool.cc built as "tool";
// "//threading/daemon" when the binary carries the package's name.
std::string RunCommand(absl::string_view program,
                       absl::string_view flags_file) {
  const absl::string_view package =
      flags_file.substr(0, flags_file.find_last_of('/'));
  const absl::string_view binary =
      program.substr(program.find_last_of('/') + 1);
  const absl::string_view last = package.substr(package.find_last_of('/') + 1);
  return absl::StrCat("tools/bazel run //", package,
                      binary == last ? "" : absl::StrCat(":", binary));
}

// --help: the lesson, one Usage line, then the tool's own flags with defaults.
void PrintHelp(absl::string_view program, absl::string_view lesson,
               absl::string_view flags_file) {
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  std::string usage = absl::StrCat("Usage: ", RunCommand(program, flags_file));
  std::string listing;
  bool first = true;
  for (const gflags::CommandLineFlagInfo& flag : flags) {
    if (!IsPublicFlag(flag, flags_file)) continue;
    absl::StrAppend(&usage, first ? " --" : "", " [--", flag.name,
                    flag.type == "bool" ? "" : "=" + Placeholder(flag), "]");
    first = false;
    absl::StrAppend(&listing, "  --", flag.name, " (default ",
                    flag.default_value.empty() ? "\"\"" : flag.default_value,
                    ")\n      ", flag.description, "\n");
  }
  std::string text(lesson);
  // A lesson that still carries its own Usage line keeps it.
  if (!absl::StrContains(lesson, "Usage:"))
    absl::StrAppend(&text, "\n\n", usage);
  absl::StrAppend(
      &listing, "  --trace=FILE\n      ",
      "Write a timeline of this run to FILE: Chrome Trace Event JSON that "
      "ui.perfetto.dev\n      and chrome://tracing open.\n");
  absl::StrAppend(&text, "\n\nFlags:\n", listing);
  absl::StrAppend(&text, "\n");
  std::fwrite(text.data(), 1, text.size(), stdout);
}

// Writes the trace that --trace asked for, when the tool exits.
void WriteTraceAtExit() {
  const std::vector<trace::Event> events = trace::Stop();
  const absl::Status written = trace::WriteChromeTrace(events, FLAGS_trace);
  const std::string line =
      written.ok()
          ? absl::StrCat(ToolName(), ": timeline of ", events.size(),
                         " events in ", FLAGS_trace,
                         " (open it in ui.perfetto.dev)",
                         trace::DroppedEvents() == 0
                             ? ""
                             : absl::StrCat("; ", trace::DroppedEvents(),
                                            " later events were dropped"),
                         "\n")
          : absl::StrCat(ToolName(), ": --trace: ", written.message(), "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
}

void StartTrace() {
  // Under mpirun every rank runs the tool with the same flags; only the first
  // writes FILE (Open MPI names the rank in its environment).
  const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
  if (rank != nullptr && absl::string_view(rank) != "0") return;
  trace::Start();
  trace::NameThisThread("main");
  std::atexit(&WriteTraceAtExit);
}

}  // namespace

void Init(int* argc, char*** argv, absl::string_view lesson,
          absl::string_view flags_file) {
  const std::string program = (*argv)[0];
  // Named after its package ("semaphore" for sync/semaphore/tool.cc), as the
  // binary of a topic's tool is called "tool".
  const absl::string_view package =
      flags_file.substr(0, flags_file.find_last_of('/'));
  ToolName() = std::string(package.substr(package.find_last_of('/') + 1));
  gflags::SetUsageMessage(std::string(lesson));
  gflags::ParseCommandLineNonHelpFlags(argc, argv, /*remove_flags=*/true);
  if (FLAGS_help) {
    PrintHelp(program, lesson, flags_file);
    std::exit(0);
  }
  gflags::HandleCommandLineHelpFlags();
  if (*argc > 1) {
    Fail(absl::StrCat("unexpected argument '", (*argv)[1], "' (see --help)"));
  }
  if (!FLAGS_trace.empty()) StartTrace();
}

void Fail(absl::string_view message) {
  const std::string line = absl::StrCat(ToolName(), ": ", message, "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::exit(kUsageError);
}

void ExitIfError(const absl::Status& status) {
  if (status.ok()) return;
  const std::string line =
      absl::StrCat(ToolName(), ": ", status.message(), "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(nullptr);
  ::_exit(kResourceError);
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

double MeasureFreeCores(int up_to, absl::Duration probe) {
  std::vector<double> cpu_seconds(up_to);
  std::vector<std::thread> spinners;
  const absl::Time start = absl::Now();
  for (int i = 0; i < up_to; ++i) {
    spinners.emplace_back([&, i] {
      volatile uint64_t sink = 0;
      while (absl::Now() - start < probe) {
        for (int k = 0; k < 10000; ++k) sink = sink + k;
      }
      timespec cpu;
      ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
      cpu_seconds[i] = cpu.tv_sec + cpu.tv_nsec * 1e-9;
    });
  }
  for (std::thread& spinner : spinners) spinner.join();
  const double wall = absl::ToDoubleSeconds(absl::Now() - start);
  double cpu = 0;
  for (double seconds : cpu_seconds) cpu += seconds;
  return wall > 0 ? cpu / wall : 0;
}

void Claim(absl::string_view tutorial, absl::string_view measured, bool shown,
           absl::string_view why_not) {
  const std::string verdict =
      shown
          ? "yes"
          : absl::StrCat(
                "no", why_not.empty() ? "" : absl::StrCat(" (", why_not, ")"));
  std::printf("\nTutorial: %s\nMeasured: %s\nShown:    %s\n",
              std::string(tutorial).c_str(), std::string(measured).c_str(),
              verdict.c_str());
}

}  // namespace pyconc::cli
