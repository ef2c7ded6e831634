// Cancelling tasks: a task cancelled mid-sleep; CancelledError is thrown at
// its await, its cleanup runs, and the canceller sees it end cancelled.
#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "asyncio/asyncio.h"
#include "gflags/gflags.h"
#include "tools/cli/cli.h"

DEFINE_int32(sleep_ms, 1000, "How long the task means to sleep.");
DEFINE_int32(cancel_after_ms, 100, "When main cancels it.");
DEFINE_int32(cleanup_ms, 20, "How long the task's cleanup takes.");

namespace {

namespace aio = pyconc::asyncio;

constexpr char kLesson[] =
    "Cancelling tasks: task.Cancel(msg) throws asyncio::CancelledError at the "
    "await\n"
    "where the task is suspended, so its catch blocks and destructors clean "
    "up (Python's\n"
    "`finally`). CancelledError is not a std::exception: `catch (const "
    "std::exception&)`\n"
    "does not swallow it. Awaiting the cancelled task rethrows it.";

absl::Time start;

// What the run showed, for the claim.
struct Seen {
  bool caught = false;       // The worker caught CancelledError at its await.
  bool released = false;     // Its destructors ran.
  bool cleaned_up = false;   // Its awaiting cleanup finished.
  bool main_raised = false;  // Awaiting the task raised CancelledError.
  bool cancelled = false;    // task.Cancelled() at the end.
  absl::Duration caught_at;
} seen;

void Say(const std::string& what) {
  std::printf("  %8.1f ms  %s\n",
              absl::ToDoubleMilliseconds(absl::Now() - start), what.c_str());
}

// Says when it goes, as a destructor does in any unwinding.
struct Resource {
  ~Resource() {
    seen.released = true;
    Say("worker: resource released (destructor)");
  }
};

aio::Coroutine<void> Worker() {
  Resource resource;
  Say(absl::StrFormat("worker: sleeping %d ms", FLAGS_sleep_ms));
  bool cancelled = false;
  std::string message;
  try {
    co_await aio::Sleep(absl::Milliseconds(FLAGS_sleep_ms));
    Say("worker: woke up normally");
  } catch (const aio::CancelledError& e) {
    Say("worker: caught " + e.what());
    seen.caught = true;
    seen.caught_at = absl::Now() - start;
    cancelled = true;
    message = e.message();
  }
  if (cancelled) {
    // Cleanup may itself await; then the cancel goes on.
    co_await aio::Sleep(absl::Milliseconds(FLAGS_cleanup_ms));
    Say("worker: cleanup done, cancellation goes on");
    seen.cleaned_up = true;
    throw aio::CancelledError(message);
  }
}

aio::Coroutine<void> Main() {
  start = absl::Now();
  aio::Task<void> task = aio::CreateTask(Worker(), {.name = "worker"});
  co_await aio::Sleep(absl::Milliseconds(FLAGS_cancel_after_ms));
  Say("main: task.Cancel(\"enough\")");
  task.Cancel("enough");
  Say(absl::StrFormat("main: cancelling() = %d", task.Cancelling()));
  try {
    co_await task;
    Say("main: the task finished before the cancel arrived");
  } catch (const aio::CancelledError& e) {
    Say("main: awaiting it raised " + e.what());
    seen.main_raised = true;
  }
  seen.cancelled = task.Cancelled();
  Say(absl::StrFormat("main: task.Cancelled() = %s",
                      task.Cancelled() ? "true" : "false"));
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("sleep_ms", FLAGS_sleep_ms, 0, 600000);
  pyconc::cli::CheckFlagRange("cancel_after_ms", FLAGS_cancel_after_ms, 0,
                              600000);
  pyconc::cli::CheckFlagRange("cleanup_ms", FLAGS_cleanup_ms, 0, 60000);
  aio::Run(Main());
  const bool shown = seen.caught && seen.cleaned_up && seen.released &&
                     seen.main_raised && seen.cancelled;
  pyconc::cli::Claim(
      "Cancel() throws CancelledError at the await where the task is "
      "suspended: its cleanup runs, awaiting the task raises it, and the task "
      "ends cancelled.",
      seen.caught
          ? absl::StrFormat(
                "the worker caught CancelledError %s into its %d ms sleep; "
                "cleanup %s, destructor %s; main's await %s; Cancelled() = "
                "%s.",
                pyconc::cli::FormatDuration(seen.caught_at), FLAGS_sleep_ms,
                seen.cleaned_up ? "done" : "not done",
                seen.released ? "ran" : "did not run",
                seen.main_raised ? "raised CancelledError" : "did not raise",
                seen.cancelled ? "true" : "false")
          : absl::StrFormat("the worker's %d ms sleep ended before main's "
                            "Cancel() at %d ms.",
                            FLAGS_sleep_ms, FLAGS_cancel_after_ms),
      shown,
      seen.caught ? "the cancellation did not run its full course"
                  : "the task finished before the cancel; use a "
                    "--cancel_after_ms below --sleep_ms");
  return 0;
}
