// Cancelling with a timeout: a slow call cut by WaitFor and by Timeout, and
// the shielded variant that keeps running after its waiter gave up.
#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "asyncio/asyncio.h"
#include "base/errors.h"
#include "gflags/gflags.h"
#include "tools/cli/cli.h"

DEFINE_int32(work_ms, 200, "How long the slow call takes.");
DEFINE_int32(timeout_ms, 50, "How long the caller is willing to wait.");

namespace {

namespace aio = pyconc::asyncio;

constexpr char kLesson[] =
    "Cancelling with a timeout: WaitFor(aw, timeout) cancels a call that "
    "takes too long,\n"
    "waits for its cleanup, and answers TimeoutError (a status, not an "
    "exception).\n"
    "Timeout(delay).Run(body) does the same for a block of the current task "
    "(Python's\n"
    "`async with asyncio.timeout()`). Shield(task) lets the waiter give up "
    "while the\n"
    "call itself runs on to the end.";

absl::Time start;

void Say(const std::string& what) {
  std::printf("  %8.1f ms  %s\n",
              absl::ToDoubleMilliseconds(absl::Now() - start), what.c_str());
}

aio::Coroutine<int> SlowCall(const char* name) {
  Say(absl::StrFormat("%s starts (needs %d ms)", name, FLAGS_work_ms));
  try {
    co_await aio::Sleep(absl::Milliseconds(FLAGS_work_ms));
  } catch (const aio::CancelledError&) {
    Say(absl::StrFormat("%s cancelled, cleaning up", name));
    throw;
  }
  Say(absl::StrFormat("%s done", name));
  co_return 42;
}

void Report(const absl::StatusOr<int>& result) {
  if (result.ok()) {
    Say(absl::StrFormat("answer: %d", *result));
  } else {
    Say("answer: " + std::string(result.status().message()));
  }
}

// What the run showed, for the claim.
struct Seen {
  bool wait_for_timed_out = false;
  absl::Duration wait_for_took;
  bool timeout_expired = false;
  absl::Duration timeout_took;
  bool shield_outlived_waiter = false;  // The call ran on after the timeout.
  int shielded_value = 0;
} seen;

aio::Coroutine<void> Main() {
  const absl::Duration timeout = absl::Milliseconds(FLAGS_timeout_ms);

  pyconc::cli::Heading("WaitFor(SlowCall(), timeout)");
  start = absl::Now();
  const absl::StatusOr<int> waited =
      co_await aio::WaitFor(SlowCall("call"), timeout);
  Report(waited);
  seen.wait_for_timed_out =
      pyconc::IsError(waited.status(), pyconc::PythonError::kTimeoutError);
  seen.wait_for_took = absl::Now() - start;

  pyconc::cli::Heading("Timeout(timeout).Run(SlowCall())");
  start = absl::Now();
  aio::Timeout deadline(timeout);
  Report(co_await deadline.Run(SlowCall("call")));
  Say(deadline.Expired() ? "the timeout expired"
                         : "the timeout did not expire");
  seen.timeout_expired = deadline.Expired();
  seen.timeout_took = absl::Now() - start;

  pyconc::cli::Heading("WaitFor(Shield(task), timeout)");
  start = absl::Now();
  aio::Task<int> task = aio::CreateTask(SlowCall("shielded call"));
  auto shielded = [&]() -> aio::Coroutine<int> {
    co_return co_await aio::Shield(task);
  };
  const absl::StatusOr<int> gave_up =
      co_await aio::WaitFor(shielded(), timeout);
  Report(gave_up);
  seen.shield_outlived_waiter = !gave_up.ok() && !task.Done();
  Say(seen.shield_outlived_waiter
          ? "the waiter gave up; the shielded call runs on"
          : "the waiter did not give up while the call ran");
  seen.shielded_value = co_await task;
  Say(absl::StrFormat("shielded call finished with %d", seen.shielded_value));
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("work_ms", FLAGS_work_ms, 0, 60000);
  pyconc::cli::CheckFlagRange("timeout_ms", FLAGS_timeout_ms, 0, 60000);
  aio::Run(Main());
  pyconc::cli::Claim(
      "A call that outlasts its timeout is cancelled and the caller gets "
      "TimeoutError; a shielded call runs on to the end after its waiter "
      "gave up.",
      absl::StrFormat(
          "with %d ms of work and a %d ms timeout, WaitFor %s after %s, "
          "Timeout %s after %s; the shielded call %s and finished with %d.",
          FLAGS_work_ms, FLAGS_timeout_ms,
          seen.wait_for_timed_out ? "answered TimeoutError" : "gave the answer",
          pyconc::cli::FormatDuration(seen.wait_for_took),
          seen.timeout_expired ? "expired" : "did not expire",
          pyconc::cli::FormatDuration(seen.timeout_took),
          seen.shield_outlived_waiter ? "outlived its waiter"
                                      : "ended before its waiter gave up",
          seen.shielded_value),
      seen.wait_for_timed_out && seen.timeout_expired &&
          seen.shield_outlived_waiter && seen.shielded_value == 42,
      FLAGS_work_ms <= FLAGS_timeout_ms
          ? "the call fits in the timeout; use a --work_ms above --timeout_ms"
          : "the loop was held up past the call's end; the machine is "
            "loaded");
  return 0;
}
