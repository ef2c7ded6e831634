// pyconc's benchmark suite: every workload on pyconc and on its peers, as one
// markdown table of medians, spreads and ratios.
//
// A run is fair in three ways. Every measurement is a fresh process, so no
// implementation inherits another's warm caches, heap or threads. Rounds are
// interleaved: round r runs every implementation of a workload once, in an
// order rotated by r, so a noisy minute on the machine falls on all of them.
// And each row reports the median of its rounds with the spread (min-max)
// beside it.
//
// C++ workloads are Google Benchmark functions named
// "<workload>/<implementation>", linked in from *_bench.cc files; pyconc's own
// row is the implementation "pyconc", and rows named "pyconc <variant>" are
// shown but never counted as peers; rows named "floor: ..." are what the
// workload costs written by hand with the least machinery, and pyconc's
// ratio to them reads "1.3x the floor". Python peers are the scripts in
// tools/bench/python/ (see peer.py there): `--list` names their rows, `--run
// WORKLOAD IMPLEMENTATION` measures one. Python's rows run on --python (CPython
// 3.13 from pyenv when present), uvloop's and mpi4py's on --uvloop_python
// (Debian's python3, which has python3-uvloop); each row names the
// interpreter's version.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "benchmark/benchmark.h"

namespace {

constexpr char kPyconc[] = "pyconc";
constexpr char kFloor[] = "floor: ";

struct Options {
  int rounds = 3;
  std::string filter;  // Substring of the workload; empty runs all.
  std::string python;
  std::string uvloop_python = "/usr/bin/python3";
  bool list = false;
};

// One row of the table: an implementation of a workload and how to run it.
struct Entry {
  std::string workload;
  std::string implementation;
  std::vector<std::string> command;  // A fresh process that prints its time.
  std::vector<double> ns;            // One sample per round.
  int failures = 0;
};

// Splits "<workload>/<implementation>[/gbench suffixes]".
std::optional<std::pair<std::string, std::string>> SplitName(
    absl::string_view name) {
  const std::vector<std::string> parts =
      absl::StrSplit(name, absl::MaxSplits('/', 2));
  if (parts.size() < 2) return std::nullopt;
  return std::make_pair(parts[0], parts[1]);
}

// In a child (--benchmark_filter names one benchmark): prints
// "<workload>\t<implementation>\t<ns per iteration>" for it.
class TsvReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) {
        std::fprintf(stderr, "%s: %s\n", run.benchmark_name().c_str(),
                     run.error_message.c_str());
        continue;
      }
      if (run.run_type != Run::RT_Iteration) continue;
      const auto name = SplitName(run.benchmark_name());
      if (!name) continue;
      const double ns = run.GetAdjustedRealTime() * 1e9 /
                        benchmark::GetTimeUnitMultiplier(run.time_unit);
      std::printf("%s\t%s\t%.3f\n", name->first.c_str(), name->second.c_str(),
                  ns);
    }
  }
};

// Runs `command`, returns its stdout (nullopt when it could not run or failed).
std::optional<std::string> Capture(const std::vector<std::string>& command) {
  int fds[2];
  if (::pipe(fds) != 0) return std::nullopt;
  const pid_t pid = ::fork();
  if (pid < 0) return std::nullopt;
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> argv;
    for (const std::string& arg : command) {
      argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::_Exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof(buffer))) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    out.append(buffer, n);
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return out;
}

// "^name$" with the characters POSIX extended regexes treat specially escaped.
std::string ExactRegex(absl::string_view name) {
  std::string regex = "^";
  for (char c : name) {
    if (absl::StrContains("\\.[](){}*+?|^$", c)) regex += '\\';
    regex += c;
  }
  return regex + "$";
}

// The C++ benchmarks linked into this binary, each run by `self` alone.
std::vector<Entry> CppEntries(const std::string& self) {
  std::vector<Entry> entries;
  const auto listed = Capture({self, "--child", "--benchmark_list_tests=true"});
  if (!listed) return entries;
  for (absl::string_view line : absl::StrSplit(*listed, '\n')) {
    const auto name = SplitName(line);
    if (!name) continue;
    entries.push_back(
        {name->first,
         name->second,
         {self, "--child",
          absl::StrCat("--benchmark_filter=", ExactRegex(line))}});
  }
  return entries;
}

// "Python 3.13.0" for an interpreter, or nullopt when it does not run.
std::optional<std::string> PythonVersion(const std::string& python) {
  const auto out = Capture(
      {python, "-c", "import platform; print(platform.python_version())"});
  if (!out) return std::nullopt;
  return absl::StrCat("Python ", absl::StripAsciiWhitespace(*out));
}

// The rows the Python peer scripts offer, with the interpreter each runs on.
std::vector<Entry> PythonEntries(const std::filesystem::path& dir,
                                 const Options& options) {
  std::vector<Entry> entries;
  const auto version = PythonVersion(options.python);
  const auto uvloop_version = PythonVersion(options.uvloop_python);
  if (!version) {
    std::fprintf(stderr, "bench: %s does not run; no Python rows\n",
                 options.python.c_str());
    return entries;
  }
  std::vector<std::filesystem::path> scripts;
  if (std::filesystem::is_directory(dir)) {
    for (const auto& file : std::filesystem::directory_iterator(dir)) {
      const std::string name = file.path().filename().string();
      if (absl::EndsWith(name, "_bench.py")) scripts.push_back(file.path());
    }
  }
  std::sort(scripts.begin(), scripts.end());
  for (const auto& script : scripts) {
    const auto listed = Capture({options.python, script.string(), "--list"});
    if (!listed) {
      std::fprintf(stderr, "bench: %s --list failed\n", script.c_str());
      continue;
    }
    for (absl::string_view line : absl::StrSplit(*listed, '\n')) {
      const std::vector<std::string> fields = absl::StrSplit(line, '\t');
      if (fields.size() != 2) continue;
      // Rows that need Debian's python3-uvloop, python3-mpi4py or
      // python3-aiohttp run on Debian's interpreter.
      const bool uvloop = absl::StrContains(fields[1], "uvloop") ||
                          absl::StrContains(fields[1], "mpi4py") ||
                          absl::StrContains(fields[1], "aiohttp");
      if (uvloop && !uvloop_version) continue;
      const std::string& python =
          uvloop ? options.uvloop_python : options.python;
      entries.push_back(
          {fields[0],
           absl::StrCat(fields[1], " (", uvloop ? *uvloop_version : *version,
                        ")"),
           {python, script.string(), "--run", fields[0], fields[1]}});
    }
  }
  return entries;
}

// One measurement of `entry` in a fresh process.
void Measure(Entry& entry) {
  const auto out = Capture(entry.command);
  double ns = 0;
  if (out) {
    for (absl::string_view line : absl::StrSplit(*out, '\n')) {
      const std::vector<absl::string_view> fields = absl::StrSplit(line, '\t');
      if (fields.size() == 3 && absl::SimpleAtod(fields[2], &ns)) break;
    }
  }
  if (ns > 0) {
    entry.ns.push_back(ns);
  } else {
    ++entry.failures;
    std::fprintf(stderr, "bench: %s / %s failed\n", entry.workload.c_str(),
                 entry.implementation.c_str());
  }
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Workloads that measure memory report bytes where others report nanoseconds.
bool InBytes(absl::string_view workload) {
  return absl::EndsWith(workload, "(bytes)");
}

std::string FormatBytes(double bytes) {
  if (bytes >= 1 << 20) return absl::StrFormat("%.2f MiB", bytes / (1 << 20));
  if (bytes >= 1 << 10) return absl::StrFormat("%.2f KiB", bytes / (1 << 10));
  return absl::StrFormat("%.0f B", bytes);
}

std::string FormatTime(double ns) {
  if (ns >= 1e6) return absl::StrFormat("%.2f ms", ns / 1e6);
  if (ns >= 1e3) return absl::StrFormat("%.2f us", ns / 1e3);
  return absl::StrFormat("%.1f ns", ns);
}

// "12.3x faster" or "1.46x slower" ("smaller"/"larger" for memory): how
// pyconc's median compares with a peer's.
std::string Compare(double pyconc, double peer, bool bytes) {
  if (pyconc <= 0 || peer <= 0) return "n/a";
  if (pyconc <= peer) {
    return absl::StrFormat("%.3gx %s", peer / pyconc,
                           bytes ? "smaller" : "faster");
  }
  return absl::StrFormat("%.3gx %s", pyconc / peer,
                         bytes ? "larger" : "slower");
}

// "1.3x the floor", or "1.2x under the floor" when pyconc beats it.
std::string FloorRatio(double pyconc, double floor) {
  if (pyconc <= 0 || floor <= 0) return "n/a";
  if (pyconc < floor) {
    return absl::StrFormat("%.3gx under the floor", floor / pyconc);
  }
  return absl::StrFormat("%.3gx the floor", pyconc / floor);
}

bool IsPyconc(const Entry& entry) {
  return entry.implementation == kPyconc ||
         absl::StartsWith(entry.implementation, "pyconc ");
}

void PrintTable(const std::map<std::string, std::vector<Entry*>>& workloads,
                int rounds) {
  std::printf(
      "\n| workload | implementation | median | spread (min-max) | pyconc vs "
      "this |\n|---|---|---:|---:|---:|\n");
  for (const auto& [workload, entries] : workloads) {
    double pyconc_ns = 0;
    for (const Entry* entry : entries) {
      if (entry->implementation == kPyconc && !entry->ns.empty()) {
        pyconc_ns = Median(entry->ns);
      }
    }
    for (const Entry* entry : entries) {
      if (entry->ns.empty()) {
        std::printf("| %s | %s | failed | | |\n", workload.c_str(),
                    entry->implementation.c_str());
        continue;
      }
      const auto [low, high] =
          std::minmax_element(entry->ns.begin(), entry->ns.end());
      const double median = Median(entry->ns);
      std::string ratio;
      if (entry->implementation == kPyconc) {
        ratio = "";
      } else if (IsPyconc(*entry)) {
        ratio = "(pyconc variant)";
      } else if (absl::StartsWith(entry->implementation, kFloor)) {
        ratio = FloorRatio(pyconc_ns, median);
      } else {
        ratio = Compare(pyconc_ns, median, InBytes(workload));
      }
      const auto format = InBytes(workload) ? FormatBytes : FormatTime;
      std::printf("| %s | %s | %s | %s-%s%s | %s |\n", workload.c_str(),
                  entry->implementation.c_str(), format(median).c_str(),
                  format(*low).c_str(), format(*high).c_str(),
                  entry->failures > 0
                      ? absl::StrFormat(" (%d failed)", entry->failures).c_str()
                      : "",
                  ratio.c_str());
    }
  }
  std::printf(
      "\nMedian of %d rounds, each a fresh process; rounds interleave every "
      "implementation of a workload. Times are per iteration (wall clock); "
      "memory rows are resident bytes per task.\n",
      rounds);
}

// The folder of Python peers: beside the binary's runfiles, or under the
// current directory (where `bazel run` starts).
std::filesystem::path PythonPeersDir(const char* argv0) {
  const std::filesystem::path relative = "tools/bench/python";
  if (std::filesystem::is_directory(relative)) return relative;
  return std::filesystem::path(std::string(argv0) + ".runfiles") / "pyconc" /
         relative;
}

// CPython 3.13 from pyenv when it is installed, else the first python3.
std::string DefaultPython() {
  if (const char* home = std::getenv("HOME")) {
    const std::filesystem::path versions =
        std::filesystem::path(home) / ".pyenv" / "versions";
    std::error_code error;
    std::vector<std::filesystem::path> found;
    for (const auto& dir :
         std::filesystem::directory_iterator(versions, error)) {
      if (absl::StartsWith(dir.path().filename().string(), "3.13")) {
        found.push_back(dir.path() / "bin" / "python3");
      }
    }
    std::sort(found.begin(), found.end());
    if (!found.empty()) return found.back().string();
  }
  return "python3";
}

constexpr char kHelp[] =
    "pyconc's benchmarks: each workload on pyconc and on its peers, every "
    "measurement\n"
    "a fresh process, rounds interleaved, medians and spreads in one markdown "
    "table.\n\n"
    "Usage: tools/bazel run --config=opt //tools/bench -- [--rounds=N] "
    "[--filter=TEXT]\n"
    "         [--python=PATH] [--uvloop_python=PATH] [--list]\n\n"
    "  --rounds=N        measurements per row, interleaved (default 3, 1-20)\n"
    "  --filter=TEXT     only workloads whose name contains TEXT\n"
    "  --python=PATH     interpreter for Python's rows (default: pyenv's "
    "3.13)\n"
    "  --uvloop_python=PATH  interpreter with uvloop and mpi4py (default "
    "/usr/bin/python3)\n"
    "  --list            print the rows and exit\n";

// Parses the driver's flags; exits 2 with one line on a bad one.
Options ParseOptions(int argc, char** argv) {
  Options options;
  options.python = DefaultPython();
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help") {
      std::fputs(kHelp, stdout);
      std::exit(0);
    } else if (arg == "--list") {
      options.list = true;
    } else if (absl::ConsumePrefix(&arg, "--rounds=")) {
      if (!absl::SimpleAtoi(arg, &options.rounds) || options.rounds < 1 ||
          options.rounds > 20) {
        std::fprintf(stderr, "bench: --rounds must be in [1, 20]\n");
        std::exit(2);
      }
    } else if (absl::ConsumePrefix(&arg, "--filter=")) {
      options.filter = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--python=")) {
      options.python = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--uvloop_python=")) {
      options.uvloop_python = std::string(arg);
    } else {
      std::fprintf(stderr, "bench: unknown argument '%s' (see --help)\n",
                   argv[i]);
      std::exit(2);
    }
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  // A child lists the C++ benchmarks, or measures one and prints its time.
  if (argc >= 2 && absl::string_view(argv[1]) == "--child") {
    argv[1] = argv[0];
    ++argv;
    --argc;
    benchmark::Initialize(&argc, argv);
    TsvReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    return 0;
  }
  const Options options = ParseOptions(argc, argv);
  const std::string self =
      std::filesystem::canonical("/proc/self/exe").string();
  std::vector<Entry> entries = CppEntries(self);
  for (Entry& entry : PythonEntries(PythonPeersDir(argv[0]), options)) {
    entries.push_back(std::move(entry));
  }
  std::map<std::string, std::vector<Entry*>> workloads;
  for (Entry& entry : entries) {
    if (absl::StrContains(entry.workload, options.filter)) {
      workloads[entry.workload].push_back(&entry);
    }
  }
  if (workloads.empty()) {
    std::fprintf(stderr, "bench: no workload matches --filter=%s\n",
                 options.filter.c_str());
    return 2;
  }
  if (options.list) {
    for (const auto& [workload, rows] : workloads) {
      for (const Entry* entry : rows) {
        std::printf("%s\t%s\n", workload.c_str(),
                    entry->implementation.c_str());
      }
    }
    return 0;
  }
  for (int round = 0; round < options.rounds; ++round) {
    for (auto& [workload, rows] : workloads) {
      std::fprintf(stderr, "round %d/%d: %s\n", round + 1, options.rounds,
                   workload.c_str());
      for (size_t i = 0; i < rows.size(); ++i) {
        Measure(*rows[(i + round) % rows.size()]);
      }
    }
  }
  PrintTable(workloads, options.rounds);
  return 0;
}
