// Returning values from threads: each ResultThread counts the primes in one
// slice of a range and hands the count back; one slice may be told to fail, to
// show the exception reaching the caller.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gflags/gflags.h"
#include "threading/return_values/result_thread.h"
#include "tools/cli/cli.h"

DEFINE_int32(threads, 4, "How many threads split the range.");
DEFINE_int64(limit, 2000000, "Count the primes below this number.");
DEFINE_int32(
    fail_slice, -1,
    "Index of a slice whose thread throws instead of returning (-1: none).");

namespace {

constexpr char kLesson[] =
    "Returning values from threads: Python's Thread drops its target's return "
    "value, so\n"
    "the tutorial keeps it in a Thread subclass. "
    "pyconc::threading::ResultThread<T> does\n"
    "that for any function: Result() joins and returns the value, or rethrows "
    "what the\n"
    "thread threw. This tool counts primes below --limit in --threads slices, "
    "first on\n"
    "one thread, then in parallel (C++ has no GIL: CPU-bound threads do speed "
    "up).";

bool IsPrime(int64_t n) {
  if (n < 2) return false;
  for (int64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

int64_t CountPrimes(int64_t begin, int64_t end, bool fail) {
  if (fail) {
    throw std::runtime_error(
        absl::StrCat("slice [", begin, ", ", end, ") was told to fail"));
  }
  int64_t count = 0;
  for (int64_t n = begin; n < end; ++n) count += IsPrime(n) ? 1 : 0;
  return count;
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("threads", FLAGS_threads, 1, 256);
  // Counting primes below 4 million takes a few seconds on one core.
  pyconc::cli::CheckFlagRange("limit", FLAGS_limit, 1, 4000000);
  pyconc::cli::CheckFlagRange("fail_slice", FLAGS_fail_slice, -1,
                              FLAGS_threads - 1);
  const int64_t slice = (FLAGS_limit + FLAGS_threads - 1) / FLAGS_threads;

  int64_t sequential_count = 0;
  const absl::Duration sequential = pyconc::cli::Measure(
      [&] { sequential_count = CountPrimes(0, FLAGS_limit, /*fail=*/false); });

  std::deque<pyconc::threading::ResultThread<int64_t>> threads;
  int64_t total = 0;
  int failures = 0;
  const absl::Duration parallel = pyconc::cli::Measure([&] {
    for (int i = 0; i < FLAGS_threads; ++i) {
      const int64_t begin = i * slice;
      const int64_t end = std::min(FLAGS_limit, begin + slice);
      threads.emplace_back(&CountPrimes, begin, end, i == FLAGS_fail_slice);
      pyconc::cli::ExitIfError(threads.back().Start());
    }
    for (auto& thread : threads) {
      try {
        total += thread.Result();
      } catch (const std::exception&) {
        ++failures;
      }
    }
  });

  std::printf("Primes below %lld, in %d slices of %lld numbers:\n",
              static_cast<long long>(FLAGS_limit), FLAGS_threads,
              static_cast<long long>(slice));
  for (int i = 0; i < FLAGS_threads; ++i) {
    try {
      std::printf("  %-9s returned %lld\n", threads[i].name().c_str(),
                  static_cast<long long>(threads[i].Result()));
    } catch (const std::exception& e) {
      std::printf("  %-9s threw    %s  (rethrown by Result() in main)\n",
                  threads[i].name().c_str(), e.what());
    }
  }
  std::printf("\n  %-22s %10lld primes in %s\n", "one thread",
              static_cast<long long>(sequential_count),
              pyconc::cli::FormatDuration(sequential).c_str());
  std::printf("  %-22s %10lld primes in %s%s\n",
              absl::StrCat(FLAGS_threads, " ResultThreads").c_str(),
              static_cast<long long>(total),
              pyconc::cli::FormatDuration(parallel).c_str(),
              failures > 0 ? " (without the failed slice)" : "");
  std::printf(
      "  %-22s %10.2f x   (bounded by the cores; Python's GIL keeps this at "
      "~1x)\n",
      "speed-up", absl::FDivDuration(sequential, parallel));
  // What the slices should add up to: the single thread's count, less the
  // failed slice's share.
  int64_t expected = sequential_count;
  if (FLAGS_fail_slice >= 0) {
    const int64_t begin = FLAGS_fail_slice * slice;
    expected -= CountPrimes(begin, std::min(FLAGS_limit, begin + slice),
                            /*fail=*/false);
  }
  const int expected_failures = FLAGS_fail_slice >= 0 ? 1 : 0;
  pyconc::cli::Claim(
      "A Thread subclass keeps what its run() computed, so the main thread "
      "reads each thread's return value after join(); an exception raised in "
      "the thread reaches the caller instead of a value.",
      absl::StrFormat("%d thread%s returned counts adding up to %d (one "
                      "thread counted %d%s); %d exception%s reached main.",
                      FLAGS_threads - failures,
                      FLAGS_threads - failures == 1 ? "" : "s", total, expected,
                      FLAGS_fail_slice >= 0 ? " without the failed slice" : "",
                      failures, failures == 1 ? "" : "s"),
      total == expected && failures == expected_failures,
      "a returned value or an exception did not reach main");
  return 0;
}
