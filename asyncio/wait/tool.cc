// asyncio.wait: the same tasks waited on with each return_when, and with a
// timeout; Wait never cancels anything, so the pending ones are cancelled here.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "asyncio/asyncio.h"
#include "gflags/gflags.h"
#include "tools/cli/cli.h"

DEFINE_int32(tasks, 4, "How many tasks to start in each round.");
DEFINE_int32(latency_ms, 80,
             "How long the slowest task takes; task i takes i/tasks of it.");
DEFINE_int32(fail, 2, "Which task fails (1-based; 0: none).");
DEFINE_int32(timeout_ms, 50, "The timeout of the last round.");

namespace {

namespace aio = pyconc::asyncio;

constexpr char kLesson[] =
    "asyncio.wait: `co_await Wait(tasks, {.timeout, .return_when})` answers "
    "with the\n"
    "tasks done and those still pending, when all are done "
    "(kAllCompleted), when the\n"
    "first is (kFirstCompleted), at the first exception (kFirstException) or "
    "at the\n"
    "timeout. It never cancels a task: what to do with `pending` is yours.";

absl::Time start;

void Say(const std::string& what) {
  std::printf("  %8.1f ms  %s\n",
              absl::ToDoubleMilliseconds(absl::Now() - start), what.c_str());
}

aio::Coroutine<int> Job(int i) {
  co_await aio::Sleep(absl::Milliseconds(FLAGS_latency_ms) * i / FLAGS_tasks);
  if (i == FLAGS_fail) throw std::runtime_error("job failed");
  co_return i;
}

// What one round showed, for the claim.
struct Round {
  int done = 0;
  int pending = 0;
  int pending_running = 0;  // Pending tasks neither done nor cancelled.
};

aio::Coroutine<Round> RunRound(const char* title, aio::WaitOptions options) {
  pyconc::cli::Heading(title);
  start = absl::Now();
  std::vector<aio::Task<int>> tasks;
  for (int i = 1; i <= FLAGS_tasks; ++i) {
    tasks.push_back(
        aio::CreateTask(Job(i), {.name = absl::StrFormat("job-%d", i)}));
  }
  aio::WaitResult<int> r = co_await aio::Wait(tasks, options);
  std::string done;
  for (aio::Task<int>& t : r.done) {
    done += " " + t.name() + (t.Exception() != nullptr ? "(failed)" : "");
  }
  std::string pending;
  for (aio::Task<int>& t : r.pending) pending += " " + t.name();
  Say(absl::StrFormat("done:%s", done.empty() ? " -" : done));
  Say(absl::StrFormat("pending:%s", pending.empty() ? " -" : pending));
  Round round{.done = static_cast<int>(r.done.size()),
              .pending = static_cast<int>(r.pending.size())};
  for (aio::Task<int>& t : r.pending) {
    round.pending_running += !t.Done() && !t.Cancelling();
  }
  for (aio::Task<int>& t : r.pending) t.Cancel();
  if (!r.pending.empty()) {
    co_await aio::Wait(r.pending);
    Say("pending tasks cancelled by the caller");
  }
  co_return round;
}

aio::Coroutine<void> Main() {
  const Round all = co_await RunRound("return_when = kAllCompleted", {});
  const Round first =
      co_await RunRound("return_when = kFirstCompleted",
                        {.return_when = aio::ReturnWhen::kFirstCompleted});
  const Round exception =
      co_await RunRound("return_when = kFirstException",
                        {.return_when = aio::ReturnWhen::kFirstException});
  const Round timed_out =
      co_await RunRound("timeout (kAllCompleted)",
                        {.timeout = absl::Milliseconds(FLAGS_timeout_ms)});
  // Whether the flags let each early round leave tasks pending.
  const bool can_show = FLAGS_tasks > 1 && FLAGS_latency_ms > 0 &&
                        FLAGS_fail > 0 && FLAGS_fail < FLAGS_tasks &&
                        FLAGS_timeout_ms < FLAGS_latency_ms;
  const int pending = first.pending + exception.pending + timed_out.pending;
  const int running = first.pending_running + exception.pending_running +
                      timed_out.pending_running;
  pyconc::cli::Claim(
      "Wait answers with the tasks done and those pending, when all are done, "
      "at the first completion, at the first exception or at the timeout; it "
      "never cancels a pending task.",
      absl::StrFormat(
          "done/pending: all %d/%d, first completed %d/%d, first exception "
          "%d/%d, timeout %d/%d; %d of %d pending tasks were still running "
          "when Wait returned.",
          all.done, all.pending, first.done, first.pending, exception.done,
          exception.pending, timed_out.done, timed_out.pending, running,
          pending),
      can_show && all.pending == 0 && first.pending > 0 &&
          exception.pending > 0 && timed_out.pending > 0 && running == pending,
      can_show ? "the loop was held up until the tasks had ended; the "
                 "machine is loaded"
               : "these flags leave no round with pending tasks; use "
                 "--tasks=2 or more, a --fail from 1 to below --tasks and a "
                 "--timeout_ms below --latency_ms");
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("tasks", FLAGS_tasks, 1, 100000);
  pyconc::cli::CheckFlagRange("latency_ms", FLAGS_latency_ms, 0, 60000);
  pyconc::cli::CheckFlagRange("fail", FLAGS_fail, 0, FLAGS_tasks);
  pyconc::cli::CheckFlagRange("timeout_ms", FLAGS_timeout_ms, 0, 60000);
  aio::Run(Main());
  return 0;
}
