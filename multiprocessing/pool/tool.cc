// The process-pool lesson, measured: a batch of CPU-bound jobs submitted to a
// ProcessPoolExecutor with one worker, then with one worker per core.
//
// (The tutorial's example makes thumbnails of image files; this tool runs a
// CPU-bound batch without images: each job searches Collatz chains.)
#include <cstdint>
#include <cstdio>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "multiprocessing/pool/executor.h"
#include "tools/cli/cli.h"

DEFINE_int32(jobs, 12, "How many CPU-bound jobs in the batch.");
DEFINE_int32(limit, 300000,
             "Job i finds the longest Collatz chain starting below limit + i * "
             "limit / 10.");
DEFINE_int32(max_workers, 0, "Workers of the second run (0: one per core).");

namespace {

constexpr char kLesson[] =
    "concurrent.futures.ProcessPoolExecutor in C++: Submit() CPU-bound jobs "
    "to a pool of\n"
    "worker processes and collect each Future's Result(), first with one "
    "worker, then\n"
    "with one per core. Arguments and results cross as serialized values; the "
    "speed-up\n"
    "approaches the number of cores.\n\n"
    "Usage: bazel run //multiprocessing/pool -- [--jobs=N] [--limit=N] "
    "[--max_workers=N]";

// The job: the longest Collatz chain that starts below `limit` (its start),
// pure arithmetic that costs CPU and nothing else.
int64_t LongestCollatzStart(int limit) {
  int64_t best_start = 1;
  int best_length = 1;
  for (int64_t start = 1; start < limit; ++start) {
    int length = 1;
    for (int64_t n = start; n != 1; n = (n % 2 == 0) ? n / 2 : 3 * n + 1) {
      ++length;
    }
    if (length > best_length) {
      best_length = length;
      best_start = start;
    }
  }
  return best_start;
}

// Runs the batch on `workers` processes; false when a job failed.
bool RunBatch(int workers, bool print, absl::Duration* elapsed) {
  pyconc::futures::ProcessPoolExecutor pool({.max_workers = workers});
  bool ok = true;
  *elapsed = pyconc::cli::Measure([&] {
    std::vector<pyconc::futures::Future<int64_t>> futures;
    for (int i = 0; i < FLAGS_jobs; ++i) {
      auto future = pool.Submit(&LongestCollatzStart,
                                FLAGS_limit + i * (FLAGS_limit / 10));
      if (!future.ok()) {
        std::fprintf(stderr, "submit: %s\n",
                     std::string(future.status().message()).c_str());
        ok = false;
        return;
      }
      futures.push_back(*future);
    }
    for (int i = 0; i < FLAGS_jobs; ++i) {
      try {
        const int64_t start = futures[i].Result();
        if (print) {
          std::printf(
              "  job %2d  longest Collatz chain below %-9d starts at %lld\n", i,
              FLAGS_limit + i * (FLAGS_limit / 10),
              static_cast<long long>(start));
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "job %d failed: %s\n", i, e.what());
        ok = false;
      }
    }
  });
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  const int cores = pyconc::multiprocessing::CpuCount();
  if (FLAGS_max_workers == 0) FLAGS_max_workers = cores;
  if (!pyconc::cli::CheckFlagRange("jobs", FLAGS_jobs, 1, 10000) ||
      !pyconc::cli::CheckFlagRange("limit", FLAGS_limit, 10, 50000000) ||
      !pyconc::cli::CheckFlagRange("max_workers", FLAGS_max_workers, 1, 256)) {
    return pyconc::cli::kUsageError;
  }
  std::printf("%d CPU-bound jobs; %d cores\n", FLAGS_jobs, cores);
  absl::Duration one, many;
  if (!RunBatch(FLAGS_max_workers, /*print=*/true, &many) ||
      !RunBatch(1, /*print=*/false, &one)) {
    return 1;
  }
  std::printf("\n  %-22s %12s\n", "1 worker process",
              pyconc::cli::Ms(one).c_str());
  std::printf("  %-22s %12s\n",
              absl::StrFormat("%d worker processes", FLAGS_max_workers).c_str(),
              pyconc::cli::Ms(many).c_str());
  std::printf(
      "  %-22s %10.2f x   (ideal: %d x, the smaller of workers and "
      "cores)\n",
      "speed-up", absl::FDivDuration(one, many),
      std::min(FLAGS_max_workers, cores));
  return 0;
}
