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
    "runs in parallel; between iterations the loop sleeps in epoll_wait.\n\n"
    "Usage: bazel run //asyncio/event_loop -- [--timers=N] [--interval_ms=MS]";

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

  loop.CallSoon([&] { say("callback A (CallSoon)"); });
  loop.CallSoon([&] {
    say("callback B (CallSoon), schedules C");
    loop.CallSoon([&] { say("callback C (scheduled by B: next iteration)"); });
  });
  for (int i = 1; i <= FLAGS_timers; ++i) {
    loop.CallLater(absl::Milliseconds(i * FLAGS_interval_ms), [&, i] {
      say(absl::StrFormat("timer %d (CallLater %d ms)", i,
                          i * FLAGS_interval_ms));
      if (i == 2 || FLAGS_timers == 1) {
        say("  ...and writes \"ping\" into the socket pair");
        (void)!write(fds[1], "ping", 4);
      }
    });
  }
  loop.AddReader(fds[0], [&] {
    char buffer[16];
    const ssize_t n = read(fds[0], buffer, sizeof(buffer));
    say(absl::StrFormat("reader: socket readable, read \"%s\"",
                        std::string(buffer, n > 0 ? n : 0)));
  });
  loop.CallLater(absl::Milliseconds((FLAGS_timers + 1) * FLAGS_interval_ms),
                 [&] {
                   say("last timer stops the loop");
                   loop.Stop();
                 });

  std::printf("Each line: the loop iteration, ms since start, what ran.\n");
  bool stopped = false;
  loop.CallLater(absl::Milliseconds((FLAGS_timers + 1) * FLAGS_interval_ms),
                 [&] { stopped = true; });
  while (!stopped) {
    ++iteration;
    loop.RunOnce();
  }
  loop.RemoveReader(fds[0]);
  std::printf(
      "\n%d iterations in %.1f ms: the loop slept in epoll_wait between "
      "timers,\nwoke for each due timer and for the readable socket.\n",
      iteration, at());
  loop.Close();
  close(fds[0]);
  close(fds[1]);
  return 0;
}
