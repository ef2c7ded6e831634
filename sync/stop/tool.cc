// Stopping a worker thread from main, three ways, with the measured stop
// latency.

#include <algorithm>
#include <atomic>
#include <functional>
#include <stop_token>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "sync/event/event.h"
#include "sync/stop/stop.h"
#include "threading/thread/thread.h"
#include "tools/cli/cli.h"

DEFINE_int32(step_ms, 200, "the worker's pause between steps of work");
DEFINE_int32(run_ms, 300,
             "how long main lets the worker run before asking it to stop");

namespace pyconc::sync {
namespace {

constexpr char kUsage[] =
    "A thread cannot be killed; it is asked to stop and checks for the request "
    "itself.\n"
    "The tutorial's way is an Event the worker checks between steps; C++20's "
    "is a\n"
    "std::stop_token (Thread::RequestStop()). A worker that sleeps between "
    "steps reacts\n"
    "only after its sleep; one that waits on the Event or token reacts at "
    "once.";

struct Outcome {
  absl::Duration latency;  // From the stop request to the worker's end.
  int steps;
};

// Starts `worker`, lets it run FLAGS_run_ms, calls `request_stop`, waits for
// it.
Outcome Measure(threading::Thread& worker,
                const std::function<void()>& request_stop,
                const std::atomic<int>& steps) {
  pyconc::cli::ExitIfError(worker.Start());
  absl::SleepFor(absl::Milliseconds(FLAGS_run_ms));
  const absl::Time requested = absl::Now();
  request_stop();
  worker.Join();
  return {absl::Now() - requested, steps.load()};
}

void PrintRow(const char* way, const Outcome& outcome) {
  absl::PrintF("  %-40s %8d %14s\n", way, outcome.steps,
               cli::FormatDuration(outcome.latency));
}

int Main() {
  const absl::Duration step = absl::Milliseconds(FLAGS_step_ms);
  absl::PrintF(
      "A worker does a step every %d ms; main asks it to stop after %d ms.\n\n",
      FLAGS_step_ms, FLAGS_run_ms);
  absl::PrintF("  %-40s %8s %14s\n", "how the worker pauses", "steps",
               "stop latency");

  Event stop_sleeping;
  std::atomic<int> steps_sleeping{0};
  threading::Thread sleeper([&] {
    while (!stop_sleeping.IsSet()) {
      steps_sleeping.fetch_add(1);
      absl::SleepFor(step);
    }
  });
  const Outcome sleeping = Measure(
      sleeper, [&] { stop_sleeping.Set(); }, steps_sleeping);
  PrintRow("sleep, then check Event::IsSet()", sleeping);

  Event stop_waiting;
  std::atomic<int> steps_waiting{0};
  threading::Thread waiter([&] {
    do {
      steps_waiting.fetch_add(1);
    } while (!stop_waiting.Wait(step));
  });
  const Outcome waiting = Measure(
      waiter, [&] { stop_waiting.Set(); }, steps_waiting);
  PrintRow("Event::Wait(step)", waiting);

  std::atomic<int> steps_token{0};
  threading::Thread token_worker([&](std::stop_token token) {
    do {
      steps_token.fetch_add(1);
    } while (!WaitForStop(token, step));
  });
  const Outcome token = Measure(
      token_worker, [&] { token_worker.RequestStop(); }, steps_token);
  PrintRow("WaitForStop(stop_token, step)", token);

  absl::PrintF(
      "\nA sleeping worker notices the request only after its sleep (up to %d "
      "ms);\n"
      "a worker waiting on the Event or the stop_token stops at once.\n",
      FLAGS_step_ms);

  const absl::Duration waking = std::max(waiting.latency, token.latency);
  cli::Claim(
      "A worker that sleeps between steps notices a stop request only after "
      "its sleep; one that waits on the Event or a stop_token stops at once.",
      absl::StrFormat("stopped %s after the request when sleeping, %s on the "
                      "Event, %s on the stop_token.",
                      cli::FormatDuration(sleeping.latency),
                      cli::FormatDuration(waiting.latency),
                      cli::FormatDuration(token.latency)),
      sleeping.latency > 2 * waking,
      sleeping.latency <= step / 10
          ? "the request came just as the sleeper's step ended; pick a "
            "--run_ms that is not a multiple of --step_ms"
          : "the waiting workers were slow to wake; the machine is loaded");
  return 0;
}

}  // namespace
}  // namespace pyconc::sync

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, pyconc::sync::kUsage, __FILE__);
  pyconc::cli::CheckFlagRange("step_ms", FLAGS_step_ms, 1, 60000);
  pyconc::cli::CheckFlagRange("run_ms", FLAGS_run_ms, 0, 60000);
  return pyconc::sync::Main();
}
