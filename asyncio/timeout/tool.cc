// Cancelling with a timeout: a slow call cut by WaitFor and by Timeout, and
// the shielded variant that keeps running after its waiter gave up.
#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "asyncio/asyncio.h"
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
    "call itself runs on to the end.\n\n"
    "Usage: bazel run //asyncio/timeout -- [--work_ms=MS] [--timeout_ms=MS]";

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

aio::Coroutine<void> Main() {
  const absl::Duration timeout = absl::Milliseconds(FLAGS_timeout_ms);

  pyconc::cli::Heading("WaitFor(SlowCall(), timeout)");
  start = absl::Now();
  Report(co_await aio::WaitFor(SlowCall("call"), timeout));

  pyconc::cli::Heading("Timeout(timeout).Run(SlowCall())");
  start = absl::Now();
  aio::Timeout deadline(timeout);
  Report(co_await deadline.Run(SlowCall("call")));
  Say(deadline.Expired() ? "the timeout expired"
                         : "the timeout did not expire");

  pyconc::cli::Heading("WaitFor(Shield(task), timeout)");
  start = absl::Now();
  aio::Task<int> task = aio::CreateTask(SlowCall("shielded call"));
  auto shielded = [&]() -> aio::Coroutine<int> {
    co_return co_await aio::Shield(task);
  };
  Report(co_await aio::WaitFor(shielded(), timeout));
  Say("the waiter gave up; the shielded call runs on");
  const int value = co_await task;
  Say(absl::StrFormat("shielded call finished with %d", value));
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("work_ms", FLAGS_work_ms, 0, 60000);
  pyconc::cli::CheckFlagRange("timeout_ms", FLAGS_timeout_ms, 0, 60000);
  aio::Run(Main());
  return 0;
}
