// Threads of different speeds meet at a Barrier each round; the waits are
// measured.

#include <deque>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "sync/barrier/barrier.h"
#include "threading/thread/thread.h"
#include "tools/cli/cli.h"

DEFINE_int32(parties, 4, "threads meeting at the barrier");
DEFINE_int32(rounds, 3, "how many times they meet");
DEFINE_int32(step_ms, 10,
             "thread i works (i + 1) x step_ms before each meeting");

namespace pyconc::sync {
namespace {

constexpr char kUsage[] =
    "A Barrier makes a fixed number of threads wait for each other: each calls "
    "Wait(),\n"
    "and all go on together once the last has arrived, round after round. Here "
    "threads\n"
    "of different speeds meet; the fast ones wait for the slowest every round.";

int Main() {
  int rounds_done =
      0;  // Written by the action, which runs while the barrier is held.
  Barrier barrier(FLAGS_parties, {.action = [&] { ++rounds_done; }});
  // waited[round][thread]: how long that thread waited at the barrier.
  std::vector<std::vector<absl::Duration>> waited(
      FLAGS_rounds, std::vector<absl::Duration>(FLAGS_parties));
  std::deque<threading::Thread> threads;
  for (int i = 0; i < FLAGS_parties; ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < FLAGS_rounds; ++round) {
        absl::SleepFor(absl::Milliseconds(FLAGS_step_ms) *
                       (i + 1));  // Its work.
        const absl::Time arrived = absl::Now();
        if (!barrier.Wait().ok()) return;
        waited[round][i] = absl::Now() - arrived;
      }
    });
    pyconc::cli::ExitIfError(threads.back().Start());
  }
  for (threading::Thread& thread : threads) thread.Join();

  absl::PrintF(
      "Barrier(%d): thread i works (i + 1) x %d ms, then waits for the "
      "others.\n\n",
      FLAGS_parties, FLAGS_step_ms);
  absl::PrintF("  %-8s", "round");
  for (int i = 0; i < FLAGS_parties; ++i)
    absl::PrintF(" %12s", absl::StrFormat("thread %d", i));
  absl::PrintF("\n");
  for (int round = 0; round < FLAGS_rounds; ++round) {
    absl::PrintF("  %-8d", round + 1);
    for (const absl::Duration wait : waited[round]) {
      absl::PrintF(" %12s", cli::FormatDuration(wait));
    }
    absl::PrintF("\n");
  }
  absl::PrintF(
      "\n%d rounds passed, the action ran %d times; the fastest thread waits "
      "about\n"
      "%d ms a round for the slowest, which barely waits at all.\n",
      FLAGS_rounds, rounds_done, (FLAGS_parties - 1) * FLAGS_step_ms);

  // Mean wait per round of the fastest and of the slowest thread.
  const auto mean_wait = [&](int thread) {
    absl::Duration sum;
    for (const auto& round : waited) sum += round[thread];
    return sum / FLAGS_rounds;
  };
  const absl::Duration fastest = mean_wait(0);
  const absl::Duration slowest = mean_wait(FLAGS_parties - 1);
  cli::Claim(
      "Threads that reach the Barrier wait there until the last one arrives, "
      "then all go on together, round after round.",
      absl::StrFormat("%d of %d rounds passed; the fastest thread waited %s a "
                      "round for the others, the slowest %s.",
                      rounds_done, FLAGS_rounds, cli::FormatDuration(fastest),
                      cli::FormatDuration(slowest)),
      rounds_done == FLAGS_rounds && FLAGS_parties > 1 && fastest > slowest,
      FLAGS_parties == 1
          ? "one party never waits for another; use --parties=2 or more"
          : "the threads' speeds did not differ enough this time; raise "
            "--step_ms");
  return rounds_done == FLAGS_rounds ? 0 : 1;
}

}  // namespace
}  // namespace pyconc::sync

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, pyconc::sync::kUsage, __FILE__);
  pyconc::cli::CheckFlagRange("parties", FLAGS_parties, 1, 64);
  pyconc::cli::CheckFlagRange("rounds", FLAGS_rounds, 1, 1000);
  pyconc::cli::CheckFlagRange("step_ms", FLAGS_step_ms, 0, 10000);
  return pyconc::sync::Main();
}
