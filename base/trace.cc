#include "base/trace.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace pyconc::trace {
namespace {

// The events one thread recorded. Owned by the registry, so that what a thread
// recorded survives the thread.
struct ThreadBuffer {
  absl::Mutex mu;
  std::vector<Event> events ABSL_GUARDED_BY(mu);
  std::string name ABSL_GUARDED_BY(mu);
  int tid = 0;
};

struct Registry {
  absl::Mutex mu;
  std::vector<std::shared_ptr<ThreadBuffer>> buffers ABSL_GUARDED_BY(mu);
  int64_t start_ns ABSL_GUARDED_BY(mu) = 0;
};

Registry& TheRegistry() {
  static Registry* const registry = new Registry;
  return *registry;
}

std::atomic<int64_t> start_ns{0};
std::atomic<uint64_t> next_id{1};

ThreadBuffer& ThisThread() {
  thread_local std::shared_ptr<ThreadBuffer> buffer = [] {
    auto created = std::make_shared<ThreadBuffer>();
    created->tid = static_cast<int>(::syscall(SYS_gettid));
    Registry& registry = TheRegistry();
    absl::MutexLock lock(&registry.mu);
    registry.buffers.push_back(created);
    return created;
  }();
  return *buffer;
}

int64_t Elapsed() {
  return absl::GetCurrentTimeNanos() - start_ns.load(std::memory_order_relaxed);
}

void Record(Event event) {
  ThreadBuffer& buffer = ThisThread();
  event.pid = static_cast<int>(::getpid());
  event.tid = buffer.tid;
  absl::MutexLock lock(&buffer.mu);
  buffer.events.push_back(std::move(event));
}

}  // namespace

bool Start() {
  Registry& registry = TheRegistry();
  absl::MutexLock lock(&registry.mu);
  if (Enabled()) return false;
  for (const auto& buffer : registry.buffers) {
    absl::MutexLock buffer_lock(&buffer->mu);
    buffer->events.clear();
  }
  start_ns.store(absl::GetCurrentTimeNanos(), std::memory_order_relaxed);
  internal::recording.store(true, std::memory_order_release);
  return true;
}

std::vector<Event> Stop() {
  Registry& registry = TheRegistry();
  absl::MutexLock lock(&registry.mu);
  internal::recording.store(false, std::memory_order_release);
  std::vector<Event> names;
  std::vector<Event> events;
  const int pid = static_cast<int>(::getpid());
  for (const auto& buffer : registry.buffers) {
    absl::MutexLock buffer_lock(&buffer->mu);
    if (buffer->events.empty()) continue;
    if (!buffer->name.empty()) {
      names.push_back(
          {.phase = 'M', .name = buffer->name, .pid = pid, .tid = buffer->tid});
    }
    for (Event& event : buffer->events) events.push_back(std::move(event));
    buffer->events.clear();
  }
  std::stable_sort(
      events.begin(), events.end(),
      [](const Event& a, const Event& b) { return a.ts_ns < b.ts_ns; });
  names.insert(names.end(), std::make_move_iterator(events.begin()),
               std::make_move_iterator(events.end()));
  return names;
}

uint64_t NewId() { return next_id.fetch_add(1, std::memory_order_relaxed); }

void NameThisThread(absl::string_view name) {
  ThreadBuffer& buffer = ThisThread();
  absl::MutexLock lock(&buffer.mu);
  buffer.name = std::string(name);
}

int64_t Slice::Now() { return Elapsed(); }

void Slice::End() {
  const int64_t end = Elapsed();
  Record({.phase = 'X',
          .name = std::string(name_),
          .category = std::string(category_),
          .ts_ns = start_ns_,
          .dur_ns = end - start_ns_});
}

void AsyncBegin(absl::string_view category, absl::string_view name,
                uint64_t id) {
  if (!Enabled()) return;
  Record({.phase = 'b',
          .name = std::string(name),
          .category = std::string(category),
          .ts_ns = Elapsed(),
          .id = id});
}

void AsyncEnd(absl::string_view category, absl::string_view name, uint64_t id) {
  if (!Enabled()) return;
  Record({.phase = 'e',
          .name = std::string(name),
          .category = std::string(category),
          .ts_ns = Elapsed(),
          .id = id});
}

void FlowBegin(absl::string_view category, uint64_t id) {
  if (!Enabled()) return;
  Record({.phase = 's',
          .name = std::string(category),
          .category = std::string(category),
          .ts_ns = Elapsed(),
          .id = id});
}

void FlowEnd(absl::string_view category, uint64_t id) {
  if (!Enabled()) return;
  Record({.phase = 'f',
          .name = std::string(category),
          .category = std::string(category),
          .ts_ns = Elapsed(),
          .id = id});
}

void Counter(absl::string_view category, absl::string_view name, double value) {
  if (!Enabled()) return;
  Record({.phase = 'C',
          .name = std::string(name),
          .category = std::string(category),
          .ts_ns = Elapsed(),
          .value = value});
}

}  // namespace pyconc::trace
