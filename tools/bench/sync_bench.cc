// The sync primitives against absl::Mutex, the standard library's mutexes and
// semaphores (and, in python/sync_bench.py, Python's threading).
//
// Every workload's name says what one iteration is. "2 threads" workloads run
// with ->Threads(2): both threads do the same number of iterations, and the
// time per iteration is the wall time divided by the iterations of both
// threads, that is the cost of one increment when two threads compete for the
// lock. Workloads of two threads swing from run to run with how the threads
// happen to interleave (absl::Mutex between about 10 and 60 ns); the driver's
// rounds (bench_main.cc) give each its median and spread.
//
// "uncontended" runs in a process with one thread, where glibc's mutexes and
// pyconc's locks skip their atomic instructions (sync/internal/
// single_threaded.h); "uncontended, a second thread alive" is the same loop
// while another thread exists, which is what a threaded program pays.
#include <atomic>
#include <cstdint>
#include <future>
#include <mutex>
#include <semaphore>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"
#include "sync/event/event.h"
#include "sync/lock/lock.h"
#include "sync/lock/rlock.h"
#include "sync/semaphore/semaphore.h"

namespace {

using ::pyconc::sync::Event;
using ::pyconc::sync::Lock;
using ::pyconc::sync::RLock;
using ::pyconc::sync::Semaphore;

// Take() and Give() lock and unlock each implementation by its own API:
// pyconc's by its Python names, absl::Mutex by Lock() and Unlock(), the
// standard's by lock() and unlock().
template <typename L>
void Take(L& lock) {
  lock.lock();
}
template <typename L>
void Give(L& lock) {
  lock.unlock();
}
void Take(absl::Mutex& mu) ABSL_NO_THREAD_SAFETY_ANALYSIS { mu.Lock(); }
void Give(absl::Mutex& mu) ABSL_NO_THREAD_SAFETY_ANALYSIS { mu.Unlock(); }
void Take(Lock& lock) ABSL_NO_THREAD_SAFETY_ANALYSIS { lock.Acquire(); }
void Give(Lock& lock) ABSL_NO_THREAD_SAFETY_ANALYSIS { lock.Release(); }
void Take(RLock& lock) ABSL_NO_THREAD_SAFETY_ANALYSIS { lock.Acquire(); }
void Give(RLock& lock) ABSL_NO_THREAD_SAFETY_ANALYSIS { lock.Release(); }

// One thread takes and releases a lock nobody else wants.
template <typename L>
void Uncontended(benchmark::State& state) {
  L lock;
  for (auto _ : state) {
    Take(lock);
    benchmark::ClobberMemory();
    Give(lock);
  }
}

// As Uncontended, while a second thread (idle) exists.
template <typename L>
void UncontendedAmongThreads(benchmark::State& state) {
  std::promise<void> stop;
  std::thread idle([done = stop.get_future()] { done.wait(); });
  Uncontended<L>(state);
  stop.set_value();
  idle.join();
}

// Two threads each add one to a shared counter under the lock.
template <typename L>
void SharedCounter(benchmark::State& state) {
  static L lock;
  static int64_t counter = 0;
  for (auto _ : state) {
    Take(lock);
    benchmark::DoNotOptimize(++counter);
    Give(lock);
  }
}

#define PYCONC_LOCK_BENCH(workload, type, implementation)             \
  BENCHMARK_TEMPLATE(Uncontended, type)                               \
      ->Name(workload " uncontended acquire+release/" implementation) \
      ->UseRealTime();                                                \
  BENCHMARK_TEMPLATE(UncontendedAmongThreads, type)                   \
      ->Name(workload                                                 \
             " uncontended acquire+release, a second thread "         \
             "alive/" implementation)                                 \
      ->UseRealTime();                                                \
  BENCHMARK_TEMPLATE(SharedCounter, type)                             \
      ->Name(workload                                                 \
             " 2 threads increment shared counter (per "              \
             "increment)/" implementation)                            \
      ->Threads(2)                                                    \
      ->UseRealTime()

PYCONC_LOCK_BENCH("lock", Lock, "pyconc");
PYCONC_LOCK_BENCH("lock", absl::Mutex, "absl::Mutex");
PYCONC_LOCK_BENCH("lock", std::mutex, "std::mutex");
PYCONC_LOCK_BENCH("rlock", RLock, "pyconc");
PYCONC_LOCK_BENCH("rlock", absl::Mutex, "absl::Mutex");
PYCONC_LOCK_BENCH("rlock", std::recursive_mutex, "std::recursive_mutex");

#undef PYCONC_LOCK_BENCH

void PyconcSemaphore(benchmark::State& state) {
  Semaphore semaphore(1);
  for (auto _ : state) {
    semaphore.Acquire();
    benchmark::ClobberMemory();
    semaphore.Release();
  }
}
BENCHMARK(PyconcSemaphore)
    ->Name("semaphore acquire+release/pyconc")
    ->UseRealTime();

template <typename S>
void StdSemaphore(benchmark::State& state) {
  S semaphore(1);
  for (auto _ : state) {
    semaphore.acquire();
    benchmark::ClobberMemory();
    semaphore.release();
  }
}
BENCHMARK_TEMPLATE(StdSemaphore, std::counting_semaphore<>)
    ->Name("semaphore acquire+release/std::counting_semaphore")
    ->UseRealTime();
BENCHMARK_TEMPLATE(StdSemaphore, std::binary_semaphore)
    ->Name("semaphore acquire+release/std::binary_semaphore")
    ->UseRealTime();

// One direction of a ping-pong: Signal() wakes the thread in Await().
class EventChannel {
 public:
  void Signal() { event_.Set(); }
  void Await() {
    event_.Wait();
    event_.Clear();
  }

 private:
  Event event_;
};

// The standard's nearest thing to an Event one thread signals to another.
class StdSemaphoreChannel {
 public:
  void Signal() { semaphore_.release(); }
  void Await() { semaphore_.acquire(); }

 private:
  std::binary_semaphore semaphore_{0};
};

// The benchmark thread pings and waits for the pong; a partner thread, started
// before the timed loop, answers each ping. One iteration is one round trip,
// two wake-ups.
template <typename Channel>
void PingPong(benchmark::State& state) {
  Channel ping;
  Channel pong;
  std::atomic<bool> done{false};
  std::thread partner([&] {
    while (true) {
      ping.Await();
      if (done.load(std::memory_order_relaxed)) return;
      pong.Signal();
    }
  });
  for (auto _ : state) {
    ping.Signal();
    pong.Await();
  }
  done.store(true, std::memory_order_relaxed);
  ping.Signal();
  partner.join();
}
BENCHMARK_TEMPLATE(PingPong, EventChannel)
    ->Name("event ping-pong 2 threads (round trip)/pyconc")
    ->UseRealTime();
BENCHMARK_TEMPLATE(PingPong, StdSemaphoreChannel)
    ->Name("event ping-pong 2 threads (round trip)/std::binary_semaphore")
    ->UseRealTime();

}  // namespace
