// queue tool: a producer/consumer pipeline through one pyconc::queue queue,
// showing throughput, back-pressure (how often producers found the queue full)
// and that every item arrived exactly once.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "queue/queue.h"
#include "queue/status.h"
#include "threading/thread/thread.h"
#include "tools/cli/cli.h"

DEFINE_int32(producers, 2, "threads putting items into the queue");
DEFINE_int32(consumers, 2, "threads getting items from the queue");
DEFINE_int64(maxsize, 64, "the queue's capacity; 0 or less is unbounded");
DEFINE_string(kind, "fifo",
              "fifo (Queue), lifo (LifoQueue) or priority (PriorityQueue)");
DEFINE_int64(items, 1000000, "items to move, in all");

namespace pyconc::queue {
namespace {

constexpr char kLesson[] =
    "queue: a thread-safe queue hands work from producer threads to consumer "
    "threads,\n"
    "so they share nothing else and need no lock of their own. A bounded "
    "queue\n"
    "(maxsize > 0) makes fast producers wait for slow consumers: back-pressure "
    "keeps\n"
    "memory flat. TaskDone()/Join() tell when every item has been processed, "
    "and\n"
    "Shutdown() ends the consumers once the queue is drained (Python 3.13).\n"
    "\n"
    "Usage: queue/tool [--producers=N] [--consumers=N] [--maxsize=N]\n"
    "                  [--kind=fifo|lifo|priority] [--items=N]\n";

struct Outcome {
  absl::Duration elapsed;
  int64_t blocked_puts = 0;
  int64_t delivered = 0;
  int64_t duplicates = 0;
  int64_t sum = 0;
};

// Producer p puts p, p + P, p + 2P, ...; a put that finds the queue full is
// counted, then waits. Consumers mark every item they get, until Shutdown()
// ends them.
template <typename Q>
Outcome RunPipeline(int producers, int consumers, int64_t maxsize,
                    int64_t items) {
  Q q(maxsize);
  std::vector<std::atomic<uint8_t>> seen(items);
  std::atomic<int64_t> blocked{0}, delivered{0}, duplicates{0}, sum{0};
  std::deque<threading::Thread> producer_threads, consumer_threads;
  for (int p = 0; p < producers; ++p) {
    producer_threads.emplace_back([&, p] {
      int64_t my_blocked = 0;
      for (int64_t i = p; i < items; i += producers) {
        if (!IsFull(q.PutNowait(i))) continue;
        ++my_blocked;
        (void)q.Put(i);
      }
      blocked += my_blocked;
    });
  }
  for (int c = 0; c < consumers; ++c) {
    consumer_threads.emplace_back([&] {
      int64_t my_delivered = 0, my_duplicates = 0, my_sum = 0;
      for (absl::StatusOr<int64_t> item; (item = q.Get()).ok(); q.TaskDone()) {
        ++my_delivered;
        my_sum += *item;
        if (seen[*item].fetch_add(1, std::memory_order_relaxed) != 0)
          ++my_duplicates;
      }
      delivered += my_delivered;
      duplicates += my_duplicates;
      sum += my_sum;
    });
  }
  const absl::Time start = absl::Now();
  for (threading::Thread& thread : consumer_threads) thread.Start();
  for (threading::Thread& thread : producer_threads) thread.Start();
  for (threading::Thread& thread : producer_threads) thread.Join();
  q.Join();  // Every item put has been processed.
  Outcome outcome;
  outcome.elapsed = absl::Now() - start;
  q.Shutdown();  // Consumers drain nothing more and end.
  for (threading::Thread& thread : consumer_threads) thread.Join();
  outcome.blocked_puts = blocked.load();
  outcome.delivered = delivered.load();
  outcome.duplicates = duplicates.load();
  outcome.sum = sum.load();
  return outcome;
}

void Report(const std::string& kind_name, const Outcome& outcome) {
  const int64_t items = FLAGS_items;
  const double seconds = absl::ToDoubleSeconds(outcome.elapsed);
  const bool exactly_once = outcome.delivered == items &&
                            outcome.duplicates == 0 &&
                            outcome.sum == items * (items - 1) / 2;
  absl::PrintF("%d producers -> %s(maxsize=%d) -> %d consumers, %d items\n\n",
               FLAGS_producers, kind_name, FLAGS_maxsize, FLAGS_consumers,
               items);
  absl::PrintF("  %-18s %12.1f ms\n", "elapsed",
               absl::ToDoubleMilliseconds(outcome.elapsed));
  absl::PrintF("  %-18s %12.2f M items/s\n", "throughput",
               seconds > 0 ? items / seconds / 1e6 : 0.0);
  absl::PrintF("  %-18s %12d puts    %.1f%% of puts found the queue full\n",
               "producers blocked", outcome.blocked_puts,
               items > 0 ? 100.0 * outcome.blocked_puts / items : 0.0);
  absl::PrintF("  %-18s %12s         %d delivered, %d twice, checksum %s\n",
               "exactly once", exactly_once ? "yes" : "NO", outcome.delivered,
               outcome.duplicates,
               outcome.sum == items * (items - 1) / 2 ? "ok" : "wrong");
  absl::PrintF(
      "\nThe claim: a bounded queue blocks producers when it is full%s.\n",
      FLAGS_maxsize > 0 ? "" : " (this one is unbounded, so none blocked)");
}

int Main(int argc, char** argv) {
  cli::Init(&argc, &argv, kLesson, __FILE__);
  cli::CheckFlagRange("producers", FLAGS_producers, 1, 1024);
  cli::CheckFlagRange("consumers", FLAGS_consumers, 1, 1024);
  cli::CheckFlagRange("items", FLAGS_items, 0, 100'000'000);
  const int producers = FLAGS_producers, consumers = FLAGS_consumers;
  const int64_t maxsize = FLAGS_maxsize, items = FLAGS_items;
  if (FLAGS_kind == "fifo") {
    Report("Queue",
           RunPipeline<Queue<int64_t>>(producers, consumers, maxsize, items));
  } else if (FLAGS_kind == "lifo") {
    Report("LifoQueue", RunPipeline<LifoQueue<int64_t>>(producers, consumers,
                                                        maxsize, items));
  } else if (FLAGS_kind == "priority") {
    Report("PriorityQueue", RunPipeline<PriorityQueue<int64_t>>(
                                producers, consumers, maxsize, items));
  } else {
    cli::Fail("--kind must be fifo, lifo or priority, not '" + FLAGS_kind +
              "'");
  }
  return 0;
}

}  // namespace
}  // namespace pyconc::queue

int main(int argc, char** argv) { return pyconc::queue::Main(argc, argv); }
