// pyconc's benchmark suite: every workload on pyconc and on its peers, in one
// run, as a markdown table of times and ratios.
//
// C++ workloads are Google Benchmark functions named
// "<workload>/<implementation>" (pyconc's own implementation is called
// "pyconc"), linked in from *_bench.cc files. Python peers are the scripts in
// tools/bench/python/, run with python3; each prints lines
// "<workload>\t<implementation>\t<nanoseconds per iteration>".
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "benchmark/benchmark.h"

namespace {

constexpr char kPyconc[] = "pyconc";

// Nanoseconds per iteration, by workload, then by implementation (in arrival
// order).
using Results =
    std::map<std::string, std::vector<std::pair<std::string, double>>>;

// Prints Google Benchmark's usual console output and keeps every run's time.
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  explicit CollectingReporter(Results* results)
      : ConsoleReporter(OO_None), results_(results) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      // Workloads run with repetitions report their median alone.
      const bool median =
          run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.error_occurred ||
          !(run.run_type == Run::RT_Iteration || median)) {
        continue;
      }
      // "<workload>/<implementation>", then Google Benchmark's own parts
      // ("/real_time", "/threads:2", "_median"), which are dropped.
      const std::vector<std::string> parts =
          absl::StrSplit(run.benchmark_name(), absl::MaxSplits('/', 2));
      if (parts.size() < 2) continue;
      const double ns = run.GetAdjustedRealTime() * 1e9 /
                        benchmark::GetTimeUnitMultiplier(run.time_unit);
      (*results_)[parts[0]].emplace_back(parts[1], ns);
    }
  }

 private:
  Results* results_;
};

// The folder of Python peers: beside the binary's runfiles, or under the
// current directory (where `bazel run` starts).
std::filesystem::path PythonPeersDir(const char* argv0) {
  const std::filesystem::path relative = "tools/bench/python";
  if (std::filesystem::is_directory(relative)) return relative;
  return std::filesystem::path(std::string(argv0) + ".runfiles") / "pyconc" /
         relative;
}

// Runs every Python peer script and adds the times it prints.
void RunPythonPeers(const std::filesystem::path& dir, Results* results) {
  std::vector<std::filesystem::path> scripts;
  if (std::filesystem::is_directory(dir)) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() == ".py") scripts.push_back(entry.path());
    }
  }
  std::sort(scripts.begin(), scripts.end());
  for (const auto& script : scripts) {
    std::fprintf(stderr, "running Python peer %s\n", script.filename().c_str());
    const std::string command = absl::StrCat("python3 '", script.string(), "'");
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) continue;
    char line[512];
    while (std::fgets(line, sizeof(line), pipe) != nullptr) {
      std::vector<std::string> fields =
          absl::StrSplit(absl::StripTrailingAsciiWhitespace(line), '\t');
      double ns = 0;
      if (fields.size() == 3 && absl::SimpleAtod(fields[2], &ns)) {
        (*results)[fields[0]].emplace_back(fields[1], ns);
      }
    }
    if (::pclose(pipe) != 0) {
      std::fprintf(stderr, "bench: Python peer %s failed\n", script.c_str());
    }
  }
}

std::string FormatTime(double ns) {
  if (ns >= 1e6) return absl::StrFormat("%.2f ms", ns / 1e6);
  if (ns >= 1e3) return absl::StrFormat("%.2f us", ns / 1e3);
  return absl::StrFormat("%.1f ns", ns);
}

// "12.3x faster" or "1.46x slower": how pyconc's time compares with a peer's.
std::string CompareTimes(double pyconc_ns, double peer_ns) {
  if (pyconc_ns <= 0 || peer_ns <= 0) return "n/a";
  if (pyconc_ns <= peer_ns) {
    return absl::StrFormat("%.3gx faster", peer_ns / pyconc_ns);
  }
  return absl::StrFormat("%.3gx slower", pyconc_ns / peer_ns);
}

void PrintTable(const Results& results) {
  std::printf(
      "\n| workload | pyconc | peer | peer's time | pyconc vs peer |\n");
  std::printf("|---|---:|---|---:|---:|\n");
  for (const auto& [workload, runs] : results) {
    double pyconc_ns = 0;
    for (const auto& [implementation, ns] : runs) {
      if (implementation == kPyconc) pyconc_ns = ns;
    }
    for (const auto& [implementation, ns] : runs) {
      if (implementation == kPyconc) continue;
      const std::string ratio = CompareTimes(pyconc_ns, ns);
      std::printf("| %s | %s | %s | %s | %s |\n", workload.c_str(),
                  pyconc_ns > 0 ? FormatTime(pyconc_ns).c_str() : "n/a",
                  implementation.c_str(), FormatTime(ns).c_str(),
                  ratio.c_str());
    }
  }
  std::printf("\nTimes are per iteration (wall clock).\n");
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  Results results;
  CollectingReporter reporter(&results);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  RunPythonPeers(PythonPeersDir(argv[0]), &results);
  PrintTable(results);
  return 0;
}
