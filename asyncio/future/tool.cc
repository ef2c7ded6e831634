// Futures: a loop-bound Future resolved by a callback, by a timer and by
// another thread, each awaited by a coroutine.
#include <cstdio>
#include <string>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "asyncio/asyncio.h"
#include "gflags/gflags.h"
#include "tools/cli/cli.h"

DEFINE_int32(delay_ms, 50, "When the timer and the thread resolve theirs.");

namespace {

namespace aio = pyconc::asyncio;

constexpr char kLesson[] =
    "asyncio.Future: a result that will exist later, bound to one loop. "
    "Whoever has\n"
    "the value calls SetResult (or SetException, or Cancel); every coroutine "
    "awaiting\n"
    "the future resumes on the loop with it, and its done callbacks run. "
    "Another\n"
    "thread must go through loop.CallSoonThreadsafe.";

// What the run showed, for the claim.
struct Seen {
  bool callback_ran = false;
  std::string from_callback;
  int from_timer = 0;
  absl::Duration timer_after;
  int from_thread = 0;
  std::string cancelled_with;  // The CancelledError's text, if raised.
} seen;

aio::Coroutine<void> Main() {
  const absl::Time start = absl::Now();
  auto ms = [start] { return absl::ToDoubleMilliseconds(absl::Now() - start); };
  aio::EventLoop& loop = aio::GetRunningLoop();

  aio::Future<std::string> by_callback;
  by_callback.AddDoneCallback([&](aio::Future<std::string>& f) {
    std::printf("  %8.1f ms  done callback sees \"%s\"\n", ms(),
                f.Result().c_str());
    seen.callback_ran = true;
  });
  loop.CallSoon([by_callback]() mutable { by_callback.SetResult("soon"); });
  std::printf("  %8.1f ms  awaiting a future set by CallSoon\n", ms());
  seen.from_callback = co_await by_callback;
  std::printf("  %8.1f ms  got \"%s\"\n", ms(), seen.from_callback.c_str());

  aio::Future<int> by_timer;
  loop.CallLater(absl::Milliseconds(FLAGS_delay_ms),
                 [by_timer]() mutable { by_timer.SetResult(42); });
  std::printf("  %8.1f ms  awaiting a future set by a %d ms timer\n", ms(),
              FLAGS_delay_ms);
  const absl::Time timer_set = absl::Now();
  seen.from_timer = co_await by_timer;
  seen.timer_after = absl::Now() - timer_set;
  std::printf("  %8.1f ms  got %d\n", ms(), seen.from_timer);

  aio::Future<int> by_thread;
  // The thread holds no handle of the future: a future's handles are only
  // copied and dropped on the loop's thread, and the Handle that
  // CallSoonThreadsafe returns may drop its callback on the calling thread.
  // The callback refers to `by_thread`, which lives until main has its value.
  std::thread worker([&loop, &by_thread] {
    absl::SleepFor(absl::Milliseconds(FLAGS_delay_ms));  // Some slow work.
    loop.CallSoonThreadsafe([&by_thread] { by_thread.SetResult(7); });
  });
  std::printf("  %8.1f ms  awaiting a future set from another thread\n", ms());
  seen.from_thread = co_await by_thread;
  std::printf("  %8.1f ms  got %d (via CallSoonThreadsafe)\n", ms(),
              seen.from_thread);
  worker.join();

  aio::Future<int> cancelled;
  loop.CallSoon([cancelled]() mutable { cancelled.Cancel("not needed"); });
  try {
    co_await cancelled;
  } catch (const aio::CancelledError& e) {
    std::printf("  %8.1f ms  a cancelled future raises %s\n", ms(),
                e.what().c_str());
    seen.cancelled_with = e.what();
  }
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("delay_ms", FLAGS_delay_ms, 0, 60000);
  aio::Run(Main());
  pyconc::cli::Claim(
      "Whoever has the value sets the Future: a callback, a timer or another "
      "thread (through CallSoonThreadsafe); its awaiters resume with it and "
      "its done callbacks run; a cancelled Future raises CancelledError.",
      absl::StrFormat(
          "the awaiter got \"%s\" from CallSoon (done callback %s), %d from "
          "the %d ms timer after %s, %d from another thread; the cancelled "
          "one %s.",
          seen.from_callback, seen.callback_ran ? "ran" : "did not run",
          seen.from_timer, FLAGS_delay_ms,
          pyconc::cli::FormatDuration(seen.timer_after), seen.from_thread,
          seen.cancelled_with.empty() ? "did not raise"
                                      : "raised " + seen.cancelled_with),
      seen.from_callback == "soon" && seen.callback_ran &&
          seen.from_timer == 42 &&
          seen.timer_after >= absl::Milliseconds(FLAGS_delay_ms) &&
          seen.from_thread == 7 && !seen.cancelled_with.empty(),
      "a future did not resolve as set");
  return 0;
}
