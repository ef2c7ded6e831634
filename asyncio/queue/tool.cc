// asyncio queue: producer and consumer tasks on one thread, handing items
// through an asyncio Queue; throughput, the queue's depth over time, Join and
// 3.13's Shutdown.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "asyncio/asyncio.h"
#include "base/errors.h"
#include "gflags/gflags.h"
#include "tools/cli/cli.h"

DEFINE_int32(producers, 2, "Producer tasks putting items.");
DEFINE_int32(consumers, 2, "Consumer tasks getting items.");
DEFINE_int32(items, 100000, "Items to move, in all.");
DEFINE_int32(maxsize, 16, "The queue's capacity; 0 is unbounded.");
DEFINE_int32(consume_ms, 0,
             "Work per item in a consumer (a Sleep, in ms); slow consumers "
             "make producers wait.");

namespace {

namespace aio = pyconc::asyncio;

constexpr char kLesson[] =
    "asyncio queue: Queue<T> hands items from producer tasks to consumer "
    "tasks on one\n"
    "thread. `co_await q.Put(x)` waits while the queue is full and "
    "`co_await q.Get()`\n"
    "while it is empty, so a bounded queue (maxsize > 0) holds fast "
    "producers back:\n"
    "back-pressure. TaskDone()/Join() tell when every item is processed, and "
    "Shutdown()\n"
    "(Python 3.13) ends the consumers still waiting.";

constexpr int kSamples = 20;

struct Sample {
  absl::Duration at;
  int64_t depth;
};

struct Pipeline {
  aio::Queue<int> queue{FLAGS_maxsize};
  absl::Time start;
  int64_t gets = 0;
  int64_t sum = 0;
  int64_t max_depth = 0;
  int shut_down = 0;
  std::vector<Sample> samples;
};

aio::Coroutine<void> Producer(Pipeline* run, int first, int count) {
  for (int i = first; i < first + count; ++i) {
    const absl::Status status = co_await run->queue.Put(i);
    if (!status.ok()) co_return;
    run->max_depth = std::max(run->max_depth, run->queue.QSize());
  }
}

aio::Coroutine<void> Consumer(Pipeline* run) {
  const int64_t every = std::max(1, FLAGS_items / kSamples);
  for (;;) {
    absl::StatusOr<int> item = co_await run->queue.Get();
    if (!item.ok()) {
      if (pyconc::IsError(item.status(),
                          pyconc::PythonError::kAsyncioQueueShutDown)) {
        ++run->shut_down;
      }
      co_return;
    }
    if (++run->gets % every == 0) {
      run->samples.push_back({absl::Now() - run->start, run->queue.QSize()});
    }
    if (FLAGS_consume_ms > 0) {
      co_await aio::Sleep(absl::Milliseconds(FLAGS_consume_ms));
    }
    run->sum += *item;
    run->queue.TaskDone();
  }
}

aio::Coroutine<absl::Duration> Main(Pipeline* run) {
  run->start = absl::Now();
  std::vector<aio::Task<void>> consumers;
  for (int c = 0; c < FLAGS_consumers; ++c) {
    consumers.push_back(aio::CreateTask(Consumer(run)));
  }
  std::vector<aio::Task<void>> producers;
  const int share = FLAGS_items / FLAGS_producers;
  for (int p = 0; p < FLAGS_producers; ++p) {
    const int count =
        p + 1 == FLAGS_producers ? FLAGS_items - share * p : share;
    producers.push_back(aio::CreateTask(Producer(run, share * p, count)));
  }
  for (aio::Task<void>& producer : producers) co_await producer;
  co_await run->queue.Join();  // Every item got and TaskDone().
  const absl::Duration elapsed = absl::Now() - run->start;
  run->queue.Shutdown();  // The consumers wait on an empty queue: end them.
  for (aio::Task<void>& consumer : consumers) co_await consumer;
  co_return elapsed;
}

void Bar(const Sample& sample) {
  const int64_t scale = FLAGS_maxsize > 0 ? FLAGS_maxsize : 1;
  const int width = static_cast<int>(std::min<int64_t>(
      40, FLAGS_maxsize > 0 ? sample.depth * 40 / scale : sample.depth));
  std::printf(
      "  %9.2f ms  depth %6lld  %s\n", absl::ToDoubleMilliseconds(sample.at),
      static_cast<long long>(sample.depth), std::string(width, '#').c_str());
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("producers", FLAGS_producers, 1, 1000);
  pyconc::cli::CheckFlagRange("consumers", FLAGS_consumers, 1, 1000);
  pyconc::cli::CheckFlagRange("items", FLAGS_items, 1, 2000000);
  pyconc::cli::CheckFlagRange("maxsize", FLAGS_maxsize, 0, 1000000);
  pyconc::cli::CheckFlagRange("consume_ms", FLAGS_consume_ms, 0, 1000);
  // The consumers' sleeps, side by side: keep a run to seconds.
  const double work_s = 1e-3 * FLAGS_consume_ms * FLAGS_items / FLAGS_consumers;
  if (work_s > 30) {
    pyconc::cli::Fail(absl::StrFormat(
        "--items * --consume_ms / --consumers is %.0f s of work; keep it "
        "under 30 s",
        work_s));
  }

  Pipeline run;
  pyconc::cli::Heading(absl::StrFormat(
      "asyncio.Queue(maxsize=%d): %d producers, %d consumers, %d items, "
      "%d ms of work per item",
      FLAGS_maxsize, FLAGS_producers, FLAGS_consumers, FLAGS_items,
      FLAGS_consume_ms));
  const absl::Duration elapsed = aio::Run(Main(&run));

  std::printf("  depth over time (sampled every %d gets):\n",
              std::max(1, FLAGS_items / kSamples));
  for (const Sample& sample : run.samples) Bar(sample);

  const int64_t n = FLAGS_items;
  const int64_t expected_sum = n * (n - 1) / 2;
  std::printf("\n  moved %lld items in %s: %.3g items/s\n",
              static_cast<long long>(run.gets),
              pyconc::cli::FormatDuration(elapsed).c_str(),
              run.gets / absl::ToDoubleSeconds(elapsed));
  const bool ok = run.sum == expected_sum && run.gets == n &&
                  run.shut_down == FLAGS_consumers &&
                  (FLAGS_maxsize == 0 || run.max_depth <= FLAGS_maxsize);
  pyconc::cli::Claim(
      "An asyncio.Queue(maxsize) never holds more than maxsize items, so fast "
      "producers wait for slow consumers (back-pressure); join() returns once "
      "every item is task_done(), and shutdown() ends the consumers waiting "
      "on an empty queue.",
      absl::StrFormat(
          "the depth peaked at %d (maxsize %d); Join() returned after %d "
          "TaskDone(), items summing to %d (expected %d); %d of %d consumers "
          "ended with QueueShutDown.",
          run.max_depth, FLAGS_maxsize, run.gets, run.sum, expected_sum,
          run.shut_down, FLAGS_consumers),
      ok && FLAGS_maxsize > 0 && run.max_depth == FLAGS_maxsize,
      !ok                  ? "an item was lost or a consumer did not end"
      : FLAGS_maxsize == 0 ? "the queue is unbounded; use --maxsize=N"
                           : "the queue never filled, so no producer waited; "
                             "lower --maxsize or raise --items");
  return ok ? 0 : 1;
}
