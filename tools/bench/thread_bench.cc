// Thread creation: create, start and join a thread that does nothing.
#include <thread>

#include "benchmark/benchmark.h"
#include "threading/thread/thread.h"

namespace {

void PyconcThread(benchmark::State& state) {
  for (auto _ : state) {
    pyconc::threading::Thread thread([] {});
    if (!thread.Start().ok()) state.SkipWithError("can't start new thread");
    thread.Join();
  }
}
BENCHMARK(PyconcThread)->Name("thread create+start+join/pyconc")->UseRealTime();

void StdThread(benchmark::State& state) {
  for (auto _ : state) {
    std::thread thread([] {});
    thread.join();
  }
}
BENCHMARK(StdThread)
    ->Name("thread create+start+join/std::thread")
    ->UseRealTime();

}  // namespace
