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
    "every call.\n\n"
    "Usage: bazel run //asyncio/gather -- [--calls=N] [--latency_ms=MS] "
    "[--cancel_after_ms=MS]";

absl::Time start;

void Say(const std::string& what) {
  std::printf("  %8.1f ms  %s\n",
              absl::ToDoubleMilliseconds(absl::Now() - start), what.c_str());
}

absl::Duration LatencyOf(int i) {
  return absl::Milliseconds(FLAGS_latency_ms) * i / FLAGS_calls;
}

aio::Coroutine<int> Call(int i, bool fail) {
  try {
    co_await aio::Sleep(LatencyOf(i));
  } catch (const aio::CancelledError&) {
    Say(absl::StrFormat("call %d cancelled, cleaning up", i));
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
  std::string text;
  for (int v : values) {
    if (!text.empty()) text += ", ";
    text += absl::StrFormat("%d", v);
  }
  Say("results [" + text + "]");

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
  try {
    co_await gathering;
    Say("gather finished before the cancel");
  } catch (const aio::CancelledError& e) {
    Say("the gathering task ended with " + e.what());
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
  std::printf("\n  claim: a gather takes about the longest call, %d ms\n",
              FLAGS_latency_ms);
  return 0;
}
