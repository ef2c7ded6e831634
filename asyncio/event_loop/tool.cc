// The event loop at work: callbacks, timers and a socket pair interleaving,
// one traced line per iteration of the loop.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "asyncio/loop.h"
#include "gflags/gflags.h"
#include "tools/cli/cli.h"

DEFINE_int32(timers, 3, "How many timers to schedule.");
DEFINE_int32(interval_ms, 20, "Milliseconds between the timers.");

namespace {

constexpr char kLesson[] =
    "The asyncio event loop: one thread runs, iteration after iteration, "
    "whatever is\n"
    "ready: callbacks from CallSoon (in FIFO order), timers from CallLater "
    "whose time\n"
    "has come, and readers of file descriptors that epoll reports readable. "
    "Nothing\n"
    "runs in parallel; between iterations the loop sleeps in epoll_wait.";

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("timers", FLAGS_timers, 1, 100);
  pyconc::cli::CheckFlagRange("interval_ms", FLAGS_interval_ms, 1, 10000);
  using pyconc::asyncio::EventLoop;
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) != 0) {
    pyconc::cli::Fail("socketpair failed");
  }
  EventLoop loop;
  const absl::Time start = loop.Time();
  auto at = [&] { return absl::ToDoubleMilliseconds(loop.Time() - start); };
  int iteration = 0;
  auto say = [&](const std::string& what) {
    std::printf("  iteration %3d  %8.2f ms  %s\n", iteration, at(),
                what.c_str());
  };
  // What the claim checks: the iterations the callbacks ran in, timers that
  // ran before their time, and whether the reader ran after the write.
  int iteration_a = 0, iteration_b = 0, iteration_c = 0;
  int early_timers = 0;
  bool written = false, read_after_write = false;

  loop.CallSoon([&] {
    iteration_a = iteration;
    say("callback A (CallSoon)");
  });
  loop.CallSoon([&] {
    iteration_b = iteration;
    say("callback B (CallSoon), schedules C");
    loop.CallSoon([&] {
      iteration_c = iteration;
      say("callback C (scheduled by B: next iteration)");
    });
  });
  for (int i = 1; i <= FLAGS_timers; ++i) {
    loop.CallLater(absl::Milliseconds(i * FLAGS_interval_ms), [&, i] {
      early_timers += at() < i * FLAGS_interval_ms;
      say(absl::StrFormat("timer %d (CallLater %d ms)", i,
                          i * FLAGS_interval_ms));
      if (i == 2 || FLAGS_timers == 1) {
        say("  ...and writes \"ping\" into the socket pair");
        written = write(fds[1], "ping", 4) == 4;
      }
    });
  }
  // The loop stops once the last timer has run and the reader has read the
  // write (on a slow machine the timers can all fall due in one iteration,
  // before the reader's).
  bool last_timer_ran = false;
  bool stopped = false;
  auto stop_if_done = [&](const char* who) {
    if (!last_timer_ran || (written && !read_after_write)) return;
    say(absl::StrFormat("%s stops the loop", who));
    loop.Stop();
    stopped = true;
  };
  loop.AddReader(fds[0], [&] {
    char buffer[16];
    const ssize_t n = read(fds[0], buffer, sizeof(buffer));
    read_after_write = written && n == 4;
    say(absl::StrFormat("reader: socket readable, read \"%s\"",
                        std::string(buffer, n > 0 ? n : 0)));
    stop_if_done("the reader, after the last timer,");
  });
  loop.CallLater(absl::Milliseconds((FLAGS_timers + 1) * FLAGS_interval_ms),
                 [&] {
                   last_timer_ran = true;
                   stop_if_done("the last timer");
                 });

  std::printf("Each line: the loop iteration, ms since start, what ran.\n");
  while (!stopped) {
    ++iteration;
    loop.RunOnce();
  }
  loop.RemoveReader(fds[0]);
  std::printf(
      "\n%d iterations in %.1f ms: the loop slept in epoll_wait between "
      "timers,\nwoke for each due timer and for the readable socket.\n",
      iteration, at());
  // Each timer, the reader and the first callbacks can each take an
  // iteration; a loop that spun instead of sleeping would take many more.
  const int at_most = 2 * FLAGS_timers + 6;
  const bool in_order = iteration_a == iteration_b && iteration_c > iteration_b;
  pyconc::cli::Claim(
      "One thread runs, one after another, whatever is ready: CallSoon "
      "callbacks in FIFO order, timers whose time has come, readers of "
      "readable sockets; in between the loop sleeps.",
      absl::StrFormat(
          "A and B ran in iteration %d, C in %d; %d of %d timers ran before "
          "their time; the reader %s; %d iterations in %.1f ms (at most %d "
          "without spinning).",
          iteration_a, iteration_c, early_timers, FLAGS_timers,
          read_after_write ? "ran once the socket had data" : "did not run",
          iteration, at(), at_most),
      in_order && early_timers == 0 && read_after_write && iteration <= at_most,
      !in_order          ? "the callbacks ran out of order"
      : early_timers > 0 ? "a timer ran before its time"
      : !read_after_write
          ? "the reader did not read the write"
          : "the loop took more iterations than its work needed");
  loop.Close();
  close(fds[0]);
  close(fds[1]);
  return 0;
}
