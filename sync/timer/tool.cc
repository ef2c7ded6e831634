// Timers: one fires after its delay, one is cancelled before it can; both
// measured.

#include <atomic>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "sync/timer/timer.h"
#include "tools/cli/cli.h"

DEFINE_int32(delay_ms, 100, "the timers' delay");
DEFINE_int32(cancel_after_ms, 30,
             "when the second timer is cancelled (before its delay)");

namespace pyconc::sync {
namespace {

constexpr char kUsage[] =
    "A Timer is a thread that calls a function once its delay has passed, "
    "unless\n"
    "Cancel() comes first. Two timers start with the same delay; the second "
    "is\n"
    "cancelled part-way, so its function never runs and its thread ends at "
    "once.";

int Main() {
  const absl::Duration delay = absl::Milliseconds(FLAGS_delay_ms);
  const absl::Time start = absl::Now();
  absl::Time fired_at;
  std::atomic<int> cancelled_calls{0};
  Timer fires(delay, [&] { fired_at = absl::Now(); });
  Timer cancelled(delay, [&] { cancelled_calls.fetch_add(1); });
  pyconc::cli::ExitIfError(fires.Start());
  pyconc::cli::ExitIfError(cancelled.Start());
  absl::SleepFor(absl::Milliseconds(FLAGS_cancel_after_ms));
  const absl::Duration cancel_at = absl::Now() - start;
  cancelled.Cancel();
  cancelled.Join();
  const absl::Duration cancelled_ended = absl::Now() - start;
  fires.Join();

  absl::PrintF("Two Timers of %d ms; the second cancelled after %d ms.\n\n",
               FLAGS_delay_ms, FLAGS_cancel_after_ms);
  absl::PrintF("  %-22s %12s %10s\n", "timer", "ended after", "ran fn");
  absl::PrintF("  %-22s %12s %10s   (late by %s)\n", "not cancelled",
               cli::FormatDuration(fired_at - start), "yes",
               cli::FormatDuration(fired_at - start - delay));
  absl::PrintF("  %-22s %12s %10s\n", "cancelled",
               cli::FormatDuration(cancelled_ended),
               cancelled_calls.load() == 0 ? "no" : "yes");

  // Each timer's thread started after `start`, so a Cancel() before `delay`
  // from then always comes before its deadline.
  const bool cancelled_in_time = cancel_at < delay;
  const bool ran_cancelled = cancelled_calls.load() != 0;
  cli::Claim(
      "A Timer calls its function once its delay has passed, unless Cancel() "
      "comes first: then the function never runs and the thread ends at once.",
      absl::StrFormat(
          "the timer left alone ran its function after %s (delay %d ms); the "
          "one cancelled at %s %s and its thread ended at %s.",
          cli::FormatDuration(fired_at - start), FLAGS_delay_ms,
          cli::FormatDuration(cancel_at),
          ran_cancelled ? "ran its function too" : "never ran its function",
          cli::FormatDuration(cancelled_ended)),
      fired_at - start >= delay && cancelled_in_time && !ran_cancelled &&
          cancelled_ended < delay,
      cancelled_in_time
          ? "the cancelled timer's thread ended after the delay; the machine "
            "is loaded"
          : "main was slow: Cancel() came only after the delay had passed");
  return ran_cancelled && cancelled_in_time ? 1 : 0;
}

}  // namespace
}  // namespace pyconc::sync

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, pyconc::sync::kUsage, __FILE__);
  pyconc::cli::CheckFlagRange("delay_ms", FLAGS_delay_ms, 1, 60000);
  pyconc::cli::CheckFlagRange("cancel_after_ms", FLAGS_cancel_after_ms, 0,
                              FLAGS_delay_ms - 1);
  return pyconc::sync::Main();
}
