// queue tool: a producer/consumer pipeline through a bounded pyconc::queue
// queue and, for comparison, the same items through an unbounded one, showing
// throughput, back-pressure (how often producers found the queue full, how
// long the backlog grew) and that every item arrived exactly once.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
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
    "The same items then go through an unbounded queue, whose backlog shows "
    "what\n"
    "the bound saved.";

struct Outcome {
  absl::Duration elapsed;
  int64_t blocked_puts = 0;
  int64_t peak_backlog = 0;  // Most items put and not yet got, about.
  int64_t delivered = 0;
  int64_t duplicates = 0;
  int64_t sum = 0;
};

// Producer p puts p, p + P, p + 2P, ...; a put that finds the queue full is
// counted, then waits. Consumers mark every item they get, until Shutdown()
// ends them. The backlog counts puts done minus gets done, so it may be off
// by the number of consumers.
template <typename Q>
Outcome RunPipeline(int producers, int consumers, int64_t maxsize,
                    int64_t items) {
  Q q(maxsize);
  std::vector<std::atomic<uint8_t>> seen(items);
  std::atomic<int64_t> blocked{0}, delivered{0}, duplicates{0}, sum{0};
  std::atomic<int64_t> backlog{0}, peak{0};
  std::deque<threading::Thread> producer_threads, consumer_threads;
  for (int p = 0; p < producers; ++p) {
    producer_threads.emplace_back([&, p] {
      int64_t my_blocked = 0, my_peak = 0;
      for (int64_t i = p; i < items; i += producers) {
        if (IsFull(q.PutNowait(i))) {
          ++my_blocked;
          (void)q.Put(i);
        }
        my_peak = std::max(my_peak, backlog.fetch_add(1) + 1);
      }
      blocked += my_blocked;
      for (int64_t seen_peak = peak.load();
           seen_peak < my_peak &&
           !peak.compare_exchange_weak(seen_peak, my_peak);) {
      }
    });
  }
  for (int c = 0; c < consumers; ++c) {
    consumer_threads.emplace_back([&] {
      int64_t my_delivered = 0, my_duplicates = 0, my_sum = 0;
      for (absl::StatusOr<int64_t> item; (item = q.Get()).ok(); q.TaskDone()) {
        backlog.fetch_sub(1);
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
  for (threading::Thread& thread : consumer_threads) {
    pyconc::cli::ExitIfError(thread.Start());
  }
  for (threading::Thread& thread : producer_threads) {
    pyconc::cli::ExitIfError(thread.Start());
  }
  for (threading::Thread& thread : producer_threads) thread.Join();
  q.Join();  // Every item put has been processed.
  Outcome outcome;
  outcome.elapsed = absl::Now() - start;
  q.Shutdown();  // Consumers drain nothing more and end.
  for (threading::Thread& thread : consumer_threads) thread.Join();
  outcome.blocked_puts = blocked.load();
  outcome.peak_backlog = peak.load();
  outcome.delivered = delivered.load();
  outcome.duplicates = duplicates.load();
  outcome.sum = sum.load();
  return outcome;
}

bool ExactlyOnce(const Outcome& outcome) {
  const int64_t items = FLAGS_items;
  return outcome.delivered == items && outcome.duplicates == 0 &&
         outcome.sum == items * (items - 1) / 2;
}

void Row(absl::string_view name, const Outcome& outcome) {
  const int64_t items = FLAGS_items;
  const double seconds = absl::ToDoubleSeconds(outcome.elapsed);
  absl::PrintF("  %-22s %10.1f ms %9.2f M/s %9d (%4.1f%%) %12d   %s\n", name,
               absl::ToDoubleMilliseconds(outcome.elapsed),
               seconds > 0 ? items / seconds / 1e6 : 0.0, outcome.blocked_puts,
               items > 0 ? 100.0 * outcome.blocked_puts / items : 0.0,
               outcome.peak_backlog,
               ExactlyOnce(outcome)
                   ? "yes"
                   : absl::StrFormat("NO: %d delivered, %d twice",
                                     outcome.delivered, outcome.duplicates));
}

// Runs the pipeline with FLAGS_maxsize and, if that is bounded, unbounded;
// prints both and the claim. Returns whether every item arrived exactly once.
template <typename Q>
bool Compare(absl::string_view kind_name) {
  const int64_t items = FLAGS_items;
  absl::PrintF("%d producers -> %s -> %d consumers, %d items\n\n",
               FLAGS_producers, kind_name, FLAGS_consumers, items);
  absl::PrintF("  %-22s %13s %13s %17s %12s   %s\n", "queue", "elapsed",
               "throughput", "blocked puts", "peak backlog", "exactly once");
  const bool bounded = FLAGS_maxsize > 0;
  const Outcome outcome =
      RunPipeline<Q>(FLAGS_producers, FLAGS_consumers, FLAGS_maxsize, items);
  Row(absl::StrFormat("maxsize=%d", bounded ? FLAGS_maxsize : 0), outcome);
  if (!bounded) {
    cli::Claim(
        "A bounded queue makes producers wait when it is full, so the backlog "
        "(and memory) stays within maxsize; every item arrives exactly once.",
        absl::StrFormat("the unbounded queue's backlog reached %d items; no "
                        "producer waited.",
                        outcome.peak_backlog),
        false, "this queue is unbounded; use --maxsize=N to bound it");
    return ExactlyOnce(outcome);
  }
  const Outcome unbounded =
      RunPipeline<Q>(FLAGS_producers, FLAGS_consumers, 0, items);
  Row("unbounded (maxsize=0)", unbounded);
  const bool exactly_once = ExactlyOnce(outcome) && ExactlyOnce(unbounded);
  cli::Claim(
      "A bounded queue makes producers wait when it is full, so the backlog "
      "(and memory) stays within maxsize; every item arrives exactly once.",
      absl::StrFormat(
          "with maxsize=%d producers waited on %d puts and the backlog peaked "
          "at %d items; unbounded, it peaked at %d. Exactly once: %s.",
          FLAGS_maxsize, outcome.blocked_puts, outcome.peak_backlog,
          unbounded.peak_backlog, exactly_once ? "yes" : "NO"),
      exactly_once && outcome.blocked_puts > 0 &&
          unbounded.peak_backlog > FLAGS_maxsize,
      !exactly_once ? "an item was lost or delivered twice"
                    : "the consumers kept up with the producers this time; "
                      "lower --maxsize or raise --producers");
  return exactly_once;
}

int Main(int argc, char** argv) {
  cli::Init(&argc, &argv, kLesson, __FILE__);
  cli::CheckFlagRange("producers", FLAGS_producers, 1, 1024);
  cli::CheckFlagRange("consumers", FLAGS_consumers, 1, 1024);
  cli::CheckFlagRange("items", FLAGS_items, 0, 100'000'000);
  bool exactly_once = false;
  if (FLAGS_kind == "fifo") {
    exactly_once = Compare<Queue<int64_t>>("Queue");
  } else if (FLAGS_kind == "lifo") {
    exactly_once = Compare<LifoQueue<int64_t>>("LifoQueue");
  } else if (FLAGS_kind == "priority") {
    exactly_once = Compare<PriorityQueue<int64_t>>("PriorityQueue");
  } else {
    cli::Fail("--kind must be fifo, lifo or priority, not '" + FLAGS_kind +
              "'");
  }
  return exactly_once ? 0 : 1;
}

}  // namespace
}  // namespace pyconc::queue

int main(int argc, char** argv) { return pyconc::queue::Main(argc, argv); }
