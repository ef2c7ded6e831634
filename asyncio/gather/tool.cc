// Gather: calls of different durations gathered (the total is about the
// longest), the same with a failure and return_exceptions, and a gather that
// is cancelled and cancels its children.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "asyncio/asyncio.h"
#include "gflags/gflags.h"
#include "tools/cli/cli.h"

DEFINE_int32(calls, 3, "How many calls to gather.");
DEFINE_int32(latency_ms, 100,
             "How long the longest call takes; call i takes i/calls of it.");
DEFINE_int32(cancel_after_ms, 30,
             "When the last scenario cancels the gathering task.");

namespace {

namespace aio = pyconc::asyncio;

constexpr char kLesson[] =
    "Gather: `co_await Gather(tasks)` runs every call concurrently and gives "
    "the results\n"
    "in the order of the arguments, so the total is about the longest call. "
    "The first\n"
    "failure is rethrown while the others keep running; with "
    "kReturnExceptions the\n"
    "errors are held in place. Cancelling the task that awaits Gather cancels "
    "every call.";

absl::Time start;

void Say(const std::string& what) {
  std::printf("  %8.1f ms  %s\n",
              absl::ToDoubleMilliseconds(absl::Now() - start), what.c_str());
}

// What the run showed, for the claim.
struct Seen {
  absl::Duration gathered;        // The first gather's total.
  bool in_order = false;          // Its results came in the arguments' order.
  int cancelled_calls = 0;        // Calls that caught CancelledError.
  bool gather_cancelled = false;  // The gathering task ended cancelled.
} seen;

absl::Duration LatencyOf(int i) {
  return absl::Milliseconds(FLAGS_latency_ms) * i / FLAGS_calls;
}

aio::Coroutine<int> Call(int i, bool fail) {
  try {
    co_await aio::Sleep(LatencyOf(i));
  } catch (const aio::CancelledError&) {
    Say(absl::StrFormat("call %d cancelled, cleaning up", i));
    ++seen.cancelled_calls;
    throw;
  }
  if (fail) {
    Say(absl::StrFormat("call %d fails", i));
    throw std::runtime_error(absl::StrFormat("call %d failed", i));
  }
  Say(absl::StrFormat("call %d done", i));
  co_return i * 10;
}

std::vector<aio::Task<int>> StartCalls(int failing) {
  std::vector<aio::Task<int>> tasks;
  for (int i = 1; i <= FLAGS_calls; ++i) {
    tasks.push_back(aio::CreateTask(Call(i, i == failing)));
  }
  return tasks;
}

aio::Coroutine<void> Main() {
  pyconc::cli::Heading("gather: results in order, total about the longest");
  start = absl::Now();
  std::vector<int> values = co_await aio::Gather(StartCalls(0));
  seen.gathered = absl::Now() - start;
  std::string text;
  seen.in_order = static_cast<int>(values.size()) == FLAGS_calls;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!text.empty()) text += ", ";
    text += absl::StrFormat("%d", values[i]);
    seen.in_order = seen.in_order && values[i] == static_cast<int>(i + 1) * 10;
  }
  Say("results [" + text + "]  (call i returns 10 x i: argument order)");

  pyconc::cli::Heading("gather with return_exceptions: errors held in place");
  start = absl::Now();
  const int failing = (FLAGS_calls + 1) / 2;
  std::vector<aio::Outcome<int>> outcomes =
      co_await aio::Gather(aio::kReturnExceptions, StartCalls(failing));
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i].ok()) {
      Say(absl::StrFormat("result %d: %d", i + 1, outcomes[i].value()));
    } else {
      Say(absl::StrFormat(
          "result %d: %s", i + 1,
          aio::internal::DescribeException(outcomes[i].error())));
    }
  }

  pyconc::cli::Heading("gather without it: the first failure is rethrown");
  start = absl::Now();
  std::vector<aio::Task<int>> tasks = StartCalls(failing);
  try {
    co_await aio::Gather(tasks);
  } catch (const std::exception& e) {
    Say(absl::StrFormat("gather raised: %s; the others keep running",
                        e.what()));
  }
  for (aio::Task<int>& task : tasks) {
    try {
      co_await task;
    } catch (const std::exception&) {
    }
  }

  pyconc::cli::Heading("a cancelled gather cancels its children");
  start = absl::Now();
  aio::Task<void> gathering = aio::CreateTask(
      []() -> aio::Coroutine<void> { co_await aio::Gather(StartCalls(0)); }());
  co_await aio::Sleep(absl::Milliseconds(FLAGS_cancel_after_ms));
  Say("cancelling the gathering task");
  gathering.Cancel("stop");
  seen.cancelled_calls = 0;  // Count only this scenario's.
  try {
    co_await gathering;
    Say("gather finished before the cancel");
  } catch (const aio::CancelledError& e) {
    Say("the gathering task ended with " + e.what());
    seen.gather_cancelled = true;
  }
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("calls", FLAGS_calls, 1, 100000);
  pyconc::cli::CheckFlagRange("latency_ms", FLAGS_latency_ms, 0, 60000);
  pyconc::cli::CheckFlagRange("cancel_after_ms", FLAGS_cancel_after_ms, 0,
                              60000);
  aio::Run(Main());
  const absl::Duration longest = LatencyOf(FLAGS_calls);
  absl::Duration sum;
  for (int i = 1; i <= FLAGS_calls; ++i) sum += LatencyOf(i);
  const bool concurrent = FLAGS_calls > 1 && longest > absl::ZeroDuration() &&
                          seen.gathered < longest + (sum - longest) / 2;
  const bool cancel_shown = seen.gather_cancelled && seen.cancelled_calls > 0;
  pyconc::cli::Claim(
      "Gather runs the calls concurrently and gives their results in the "
      "arguments' order, so the total is about the longest call; cancelling "
      "the task that awaits it cancels every call still running.",
      absl::StrFormat(
          "%d calls (longest %s, sum %s) gathered in %s, results %s; the "
          "cancelled gather %s and cancelled %d calls.",
          FLAGS_calls, pyconc::cli::FormatDuration(longest),
          pyconc::cli::FormatDuration(sum),
          pyconc::cli::FormatDuration(seen.gathered),
          seen.in_order ? "in order" : "OUT OF ORDER",
          seen.gather_cancelled ? "ended cancelled" : "finished first",
          seen.cancelled_calls),
      concurrent && seen.in_order && cancel_shown,
      FLAGS_calls == 1 || longest == absl::ZeroDuration()
          ? "one call, or calls that do not wait, cannot tell the sum from "
            "the longest; use --calls=2 or more and --latency_ms above 0"
      : !cancel_shown
          ? "every call ended before the cancel; use a --cancel_after_ms "
            "below --latency_ms"
          : "the loop was held up; the machine is loaded");
  return 0;
}
