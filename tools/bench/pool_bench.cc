// Thread pools: 1,000,000 trivial tasks on 2 workers, each with its own
// future, all results collected (submit everything, then collect in order).
// One benchmark iteration is one task, so the table shows ns per task.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "boost/asio/post.hpp"
#include "boost/asio/thread_pool.hpp"
#include "oneapi/tbb/global_control.h"
#include "oneapi/tbb/task_arena.h"
#include "threading/pool/executor.h"
#include "threading/pool/future.h"

namespace {

constexpr int kTasks = 1'000'000;
constexpr int kWorkers = 2;

// The trivial task.
int64_t Twice(int64_t x) { return 2 * x; }

// Runs `submit(i)` for every iteration, then `collect` on everything: the
// timing covers submission and collection of all kTasks.
template <typename Future, typename Submit, typename Collect>
void RunTasks(benchmark::State& state, Submit submit, Collect collect) {
  std::vector<Future> futures;
  futures.reserve(kTasks);
  int64_t sum = 0;
  int64_t i = 0;
  for (auto _ : state) {
    futures.push_back(submit(i));
    if (++i == kTasks) {
      for (Future& f : futures) sum += collect(f);
      futures.clear();
      i = 0;
    }
  }
  for (Future& f : futures) sum += collect(f);
  benchmark::DoNotOptimize(sum);
}

int64_t Get(std::future<int64_t>& future) { return future.get(); }

// Wraps task i in a std::packaged_task, hands it to `post`, returns its future.
template <typename Post>
std::future<int64_t> PostPackagedTask(Post post, int64_t i) {
  std::packaged_task<int64_t()> task([i] { return Twice(i); });
  std::future<int64_t> future = task.get_future();
  post(std::move(task));
  return future;
}

void Pyconc(benchmark::State& state) {
  pyconc::futures::ThreadPoolExecutor pool({.max_workers = kWorkers});
  RunTasks<pyconc::futures::Future<int64_t>>(
      state, [&pool](int64_t i) { return *pool.Submit(Twice, i); },
      [](const pyconc::futures::Future<int64_t>& f) { return f.Result(); });
}
BENCHMARK(Pyconc)
    ->Name("pool 1M tasks, 2 workers/pyconc")
    ->Iterations(kTasks)
    ->UseRealTime();

// oneTBB calls an enqueued functor through a const reference.
struct ConstCallable {
  void operator()() const { task(); }
  mutable std::packaged_task<int64_t()> task;
};

void OneTbb(benchmark::State& state) {
  // oneTBB's market holds hardware_concurrency - 1 workers by default (one on a
  // 2-core machine); allow kWorkers, and give both arena slots to workers (the
  // submitting thread does not join the arena), as the other pools have.
  tbb::global_control workers(tbb::global_control::max_allowed_parallelism,
                              kWorkers + 1);
  tbb::task_arena arena(kWorkers, 0);
  RunTasks<std::future<int64_t>>(
      state,
      [&arena](int64_t i) {
        return PostPackagedTask(
            [&arena](std::packaged_task<int64_t()> task) {
              arena.enqueue(ConstCallable{std::move(task)});
            },
            i);
      },
      Get);
}
BENCHMARK(OneTbb)
    ->Name(
        "pool 1M tasks, 2 workers/oneTBB task_arena::enqueue + packaged_task")
    ->Iterations(kTasks)
    ->UseRealTime();

void BoostAsio(benchmark::State& state) {
  boost::asio::thread_pool pool(kWorkers);
  RunTasks<std::future<int64_t>>(
      state,
      [&pool](int64_t i) {
        return PostPackagedTask(
            [&pool](auto task) { boost::asio::post(pool, std::move(task)); },
            i);
      },
      Get);
  pool.join();
}
BENCHMARK(BoostAsio)
    ->Name("pool 1M tasks, 2 workers/Boost.Asio thread_pool + packaged_task")
    ->Iterations(kTasks)
    ->UseRealTime();

// The textbook pool: one std::mutex, one std::condition_variable, a deque.
class MutexCondvarPool {
 public:
  explicit MutexCondvarPool(int workers) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~MutexCondvarPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  void Post(std::packaged_task<int64_t()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

 private:
  void Work() {
    for (;;) {
      std::packaged_task<int64_t()> task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<int64_t()>> tasks_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

void MutexCondvar(benchmark::State& state) {
  MutexCondvarPool pool(kWorkers);
  RunTasks<std::future<int64_t>>(
      state,
      [&pool](int64_t i) {
        return PostPackagedTask(
            [&pool](auto task) { pool.Post(std::move(task)); }, i);
      },
      Get);
}
BENCHMARK(MutexCondvar)
    ->Name("pool 1M tasks, 2 workers/std::mutex+condvar pool + packaged_task")
    ->Iterations(kTasks)
    ->UseRealTime();

}  // namespace
