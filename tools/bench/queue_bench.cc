// Queue throughput: producers put 2,000,000 int64 items into a queue and
// consumers get them all; one iteration moves every item.
//
// Bounded (capacity 1024, producers block when it is full):
// pyconc::queue::Queue against a std::deque under std::mutex +
// std::condition_variable, a std::deque under absl::Mutex + Await, and oneTBB's
// concurrent_bounded_queue. Unbounded (producers never block):
// pyconc::queue::SimpleQueue against moodycamel's BlockingConcurrentQueue, used
// at its best, with a producer token per producer and a consumer token per
// consumer, as its documentation advises.
//
// Each consumer takes an equal share of the items, so every implementation
// needs only its blocking put and get; threads are std::threads for all of
// them.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"
#include "concurrentqueue/blockingconcurrentqueue.h"
#include "oneapi/tbb/concurrent_queue.h"
#include "queue/queue.h"

namespace {

constexpr int64_t kItems = 2'000'000;
constexpr int64_t kCapacity = 1024;

// A thread's handle to put into `queue`: the queue itself, or a per-thread
// producer (moodycamel's token) where the implementation has one.
template <typename Adapter>
decltype(auto) ProducerOf(Adapter& queue) {
  if constexpr (requires { queue.MakeProducer(); }) {
    return queue.MakeProducer();
  } else {
    return (queue);
  }
}

// A thread's handle to get from `queue`, as ProducerOf.
template <typename Adapter>
decltype(auto) ConsumerOf(Adapter& queue) {
  if constexpr (requires { queue.MakeConsumer(); }) {
    return queue.MakeConsumer();
  } else {
    return (queue);
  }
}

// Runs one iteration: `producers` threads put kItems items in all, `consumers`
// threads get them; returns the sum of what was got, so nothing is optimized
// away.
template <typename Adapter>
int64_t MoveAllItems(int producers, int consumers) {
  Adapter queue;
  std::vector<int64_t> sums(consumers);
  std::vector<std::thread> threads;
  for (int c = 0; c < consumers; ++c) {
    threads.emplace_back([&, c] {
      auto&& consumer = ConsumerOf(queue);
      int64_t sum = 0;
      for (int64_t i = c; i < kItems; i += consumers) sum += consumer.Get();
      sums[c] = sum;
    });
  }
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      auto&& producer = ProducerOf(queue);
      for (int64_t i = p; i < kItems; i += producers) producer.Put(i);
    });
  }
  for (std::thread& thread : threads) thread.join();
  int64_t total = 0;
  for (int64_t sum : sums) total += sum;
  return total;
}

template <typename Adapter>
void QueueBench(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    const int64_t sum = MoveAllItems<Adapter>(threads, threads);
    if (sum != kItems * (kItems - 1) / 2) state.SkipWithError("items lost");
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}

// The implementations, each as a Put/Get pair.

struct Pyconc {
  void Put(int64_t x) { (void)queue.Put(x); }
  int64_t Get() { return *queue.Get(); }
  pyconc::queue::Queue<int64_t> queue{kCapacity};
};

struct PyconcSimpleQueue {
  void Put(int64_t x) { queue.Put(x); }
  int64_t Get() { return *queue.Get(); }
  pyconc::queue::SimpleQueue<int64_t> queue;
};

struct StdMutexCondvar {
  void Put(int64_t x) {
    std::unique_lock<std::mutex> lock(mu);
    not_full.wait(lock, [&] { return items.size() < kCapacity; });
    items.push_back(x);
    lock.unlock();
    not_empty.notify_one();
  }
  int64_t Get() {
    std::unique_lock<std::mutex> lock(mu);
    not_empty.wait(lock, [&] { return !items.empty(); });
    const int64_t x = items.front();
    items.pop_front();
    lock.unlock();
    not_full.notify_one();
    return x;
  }
  std::mutex mu;
  std::condition_variable not_full, not_empty;
  std::deque<int64_t> items;
};

struct AbslMutexAwait {
  void Put(int64_t x) {
    absl::MutexLock lock(&mu, absl::Condition(this, &AbslMutexAwait::HasRoom));
    items.push_back(x);
  }
  int64_t Get() {
    absl::MutexLock lock(&mu, absl::Condition(this, &AbslMutexAwait::HasItem));
    const int64_t x = items.front();
    items.pop_front();
    return x;
  }
  bool HasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return items.size() < kCapacity;
  }
  bool HasItem() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return !items.empty();
  }
  absl::Mutex mu;
  std::deque<int64_t> items ABSL_GUARDED_BY(mu);
};

struct OneTbb {
  OneTbb() { queue.set_capacity(kCapacity); }
  void Put(int64_t x) { queue.push(x); }
  int64_t Get() {
    int64_t x;
    queue.pop(x);
    return x;
  }
  tbb::concurrent_bounded_queue<int64_t> queue;
};

struct MoodycamelTokens {
  using Queue = moodycamel::BlockingConcurrentQueue<int64_t>;
  struct Producer {
    void Put(int64_t x) { queue->enqueue(token, x); }
    Queue* queue;
    moodycamel::ProducerToken token;
  };
  struct Consumer {
    int64_t Get() {
      int64_t x;
      queue->wait_dequeue(token, x);
      return x;
    }
    Queue* queue;
    moodycamel::ConsumerToken token;
  };
  Producer MakeProducer() { return {&queue, moodycamel::ProducerToken(queue)}; }
  Consumer MakeConsumer() { return {&queue, moodycamel::ConsumerToken(queue)}; }
  Queue queue;
};

enum class Bound { kCapacity1024, kUnbounded };

// Registers `Adapter` for 1 producer/1 consumer and 2/2.
template <typename Adapter>
void Register(const std::string& implementation, Bound bound) {
  for (int threads : {1, 2}) {
    const std::string workload =
        "queue " + std::to_string(threads) + "p" + std::to_string(threads) +
        (bound == Bound::kCapacity1024 ? "c cap1024 2M int64"
                                       : "c unbounded 2M int64");
    benchmark::RegisterBenchmark((workload + "/" + implementation).c_str(),
                                 &QueueBench<Adapter>)
        ->Arg(threads)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(5);
  }
}

const bool kRegistered = [] {
  Register<Pyconc>("pyconc", Bound::kCapacity1024);
  Register<StdMutexCondvar>("std::mutex+condvar", Bound::kCapacity1024);
  Register<AbslMutexAwait>("absl::Mutex+Await", Bound::kCapacity1024);
  Register<OneTbb>("oneTBB concurrent_bounded_queue", Bound::kCapacity1024);
  Register<PyconcSimpleQueue>("pyconc", Bound::kUnbounded);
  Register<MoodycamelTokens>("moodycamel BlockingConcurrentQueue + tokens",
                             Bound::kUnbounded);
  return true;
}();

}  // namespace
