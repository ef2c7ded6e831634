#include "base/trace.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace pyconc::trace {
namespace {

// The events one thread recorded. Owned by the registry, so that what a thread
// recorded survives the thread until Stop() takes it.
struct ThreadBuffer {
  absl::Mutex mu;
  std::vector<Event> events ABSL_GUARDED_BY(mu);
  std::string name ABSL_GUARDED_BY(mu);
  int tid = 0;
  // The thread has exited: Stop() drops the buffer once it took the events.
  bool exited ABSL_GUARDED_BY(mu) = false;
};

struct Registry {
  absl::Mutex mu;
  std::vector<std::shared_ptr<ThreadBuffer>> buffers ABSL_GUARDED_BY(mu);
  // The recording children write into (RecordAsChild), or this process's own.
  internal::ChildSession session ABSL_GUARDED_BY(mu);
  bool is_child ABSL_GUARDED_BY(mu) = false;
};

Registry& TheRegistry() {
  static Registry* const registry = new Registry;
  return *registry;
}

std::atomic<int64_t> start_ns{0};
std::atomic<uint64_t> next_id{1};

// The calling thread's buffer, registered on first use and unregistered when
// the thread exits (kept until Stop() if it holds events), so that a program
// starting many threads keeps no buffer per thread it ever ran.
// Set once the calling thread's buffer is destroyed (at its exit): what it
// records after that, in another thread-local's destructor or, on the main
// thread, in an atexit handler, is dropped.
thread_local bool buffer_gone = false;

class ThisThreadsBuffer {
 public:
  ThisThreadsBuffer() : buffer_(std::make_shared<ThreadBuffer>()) {
    buffer_->tid = static_cast<int>(::syscall(SYS_gettid));
    Registry& registry = TheRegistry();
    absl::MutexLock lock(&registry.mu);
    registry.buffers.push_back(buffer_);
  }
  ~ThisThreadsBuffer() {
    buffer_gone = true;
    Registry& registry = TheRegistry();
    absl::MutexLock lock(&registry.mu);
    absl::MutexLock buffer_lock(&buffer_->mu);
    if (!buffer_->events.empty()) {
      buffer_->exited = true;
      return;
    }
    auto& buffers = registry.buffers;
    buffers.erase(std::remove(buffers.begin(), buffers.end(), buffer_),
                  buffers.end());
  }
  ThreadBuffer& buffer() { return *buffer_; }

 private:
  std::shared_ptr<ThreadBuffer> buffer_;
};

// The calling thread's buffer; null once it is gone.
ThreadBuffer* ThisThread() {
  if (buffer_gone) return nullptr;
  thread_local ThisThreadsBuffer buffer;
  return &buffer.buffer();
}

int64_t Elapsed() {
  return absl::GetCurrentTimeNanos() - start_ns.load(std::memory_order_relaxed);
}

// Events recorded since Start(), and those dropped past kMaxEvents.
std::atomic<int64_t> recorded{0};
std::atomic<int64_t> dropped{0};

void Record(Event event) {
  const bool body = event.phase == 'X' &&
                    (event.category == "thread" || event.category == "process");
  if (!body && recorded.fetch_add(1, std::memory_order_relaxed) >= kMaxEvents) {
    dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  ThreadBuffer* buffer = ThisThread();
  if (buffer == nullptr) return;
  event.pid = static_cast<int>(::getpid());
  event.tid = buffer->tid;
  absl::MutexLock lock(&buffer->mu);
  buffer->events.push_back(std::move(event));
}

// Takes every buffer's events, with an 'M' event for each named thread that
// recorded any; drops the buffers of threads that exited.
std::vector<Event> TakeEvents(Registry& registry)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(registry.mu) {
  std::vector<Event> events;
  const int pid = static_cast<int>(::getpid());
  auto& buffers = registry.buffers;
  for (const auto& buffer : buffers) {
    absl::MutexLock buffer_lock(&buffer->mu);
    if (buffer->events.empty()) continue;
    if (!buffer->name.empty()) {
      events.push_back(
          {.phase = 'M', .name = buffer->name, .pid = pid, .tid = buffer->tid});
    }
    for (Event& event : buffer->events) events.push_back(std::move(event));
    buffer->events.clear();
  }
  buffers.erase(std::remove_if(buffers.begin(), buffers.end(),
                               [](const std::shared_ptr<ThreadBuffer>& buffer) {
                                 absl::MutexLock buffer_lock(&buffer->mu);
                                 return buffer->exited;
                               }),
                buffers.end());
  return events;
}

}  // namespace

std::string internal::ChildEventsDirectory(
    const internal::ChildSession& session) {
  const char* tmp = std::getenv("TMPDIR");
  return absl::StrCat(tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp",
                      "/pyconc-trace-", session.root_pid, "-",
                      session.start_ns);
}

namespace {

// A child's events travel as text, one event a line: the fields separated by
// tabs, the two strings last with tab, newline and backslash escaped.
std::string Escape(absl::string_view text) {
  return absl::StrReplaceAll(text,
                             {{"\\", "\\\\"}, {"\t", "\\t"}, {"\n", "\\n"}});
}

std::string Unescape(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out.push_back(text[i]);
      continue;
    }
    const char next = text[++i];
    out.push_back(next == 't' ? '\t' : next == 'n' ? '\n' : next);
  }
  return out;
}

std::string EventLine(const Event& event) {
  return absl::StrCat(absl::string_view(&event.phase, 1), "\t", event.ts_ns,
                      "\t", event.dur_ns, "\t", event.id, "\t",
                      absl::StrFormat("%.17g", event.value), "\t", event.pid,
                      "\t", event.tid, "\t", Escape(event.category), "\t",
                      Escape(event.name), "\n");
}

// False for a line that is not one EventLine() wrote.
bool ParseEventLine(absl::string_view line, Event* event) {
  const std::vector<absl::string_view> fields = absl::StrSplit(line, '\t');
  if (fields.size() != 9 || fields[0].size() != 1) return false;
  event->phase = fields[0][0];
  event->category = Unescape(fields[7]);
  event->name = Unescape(fields[8]);
  return absl::SimpleAtoi(fields[1], &event->ts_ns) &&
         absl::SimpleAtoi(fields[2], &event->dur_ns) &&
         absl::SimpleAtoi(fields[3], &event->id) &&
         absl::SimpleAtod(fields[4], &event->value) &&
         absl::SimpleAtoi(fields[5], &event->pid) &&
         absl::SimpleAtoi(fields[6], &event->tid);
}

// Appends the events the children left in `directory`, and removes it.
void TakeChildrensEvents(const std::string& directory,
                         std::vector<Event>* events) {
  DIR* dir = ::opendir(directory.c_str());
  if (dir == nullptr) return;
  std::vector<std::string> files;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') files.push_back(entry->d_name);
  }
  ::closedir(dir);
  for (const std::string& file : files) {
    const std::string path = absl::StrCat(directory, "/", file);
    if (absl::EndsWith(file, ".events")) {
      std::ifstream in(path);
      std::string line;
      Event event;
      while (std::getline(in, line)) {
        if (ParseEventLine(line, &event)) events->push_back(std::move(event));
      }
    }
    ::unlink(path.c_str());
  }
  ::rmdir(directory.c_str());
}

void SortByTime(std::vector<Event>* events) {
  // 'M' events first, then the rest by time.
  std::stable_sort(events->begin(), events->end(),
                   [](const Event& a, const Event& b) {
                     if ((a.phase == 'M') != (b.phase == 'M')) {
                       return a.phase == 'M';
                     }
                     return a.ts_ns < b.ts_ns;
                   });
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
  const int64_t now = absl::GetCurrentTimeNanos();
  registry.session = {.start_ns = now, .root_pid = ::getpid()};
  registry.is_child = false;
  ::mkdir(internal::ChildEventsDirectory(registry.session).c_str(), 0700);
  start_ns.store(now, std::memory_order_relaxed);
  recorded.store(0, std::memory_order_relaxed);
  dropped.store(0, std::memory_order_relaxed);
  internal::recording.store(true, std::memory_order_release);
  return true;
}

std::vector<Event> Stop() {
  Registry& registry = TheRegistry();
  absl::MutexLock lock(&registry.mu);
  const bool was_recording = Enabled();
  internal::recording.store(false, std::memory_order_release);
  std::vector<Event> events = TakeEvents(registry);
  if (was_recording && !registry.is_child) {
    TakeChildrensEvents(internal::ChildEventsDirectory(registry.session),
                        &events);
  }
  SortByTime(&events);
  return events;
}

int64_t DroppedEvents() { return dropped.load(std::memory_order_relaxed); }

uint64_t NewId() { return next_id.fetch_add(1, std::memory_order_relaxed); }

void NameThisThread(absl::string_view name) {
  ThreadBuffer* buffer = ThisThread();
  if (buffer == nullptr) return;
  absl::MutexLock lock(&buffer->mu);
  buffer->name = std::string(name);
}

namespace internal {

ChildSession SessionForChild() {
  if (!Enabled()) return {};
  Registry& registry = TheRegistry();
  absl::MutexLock lock(&registry.mu);
  return registry.session;
}

void RecordAsChild(const ChildSession& session, absl::string_view name) {
  // Only the forking thread was copied: its buffer is the one to keep, with
  // this process's thread id.
  ThreadBuffer& self = *ThisThread();
  Registry& registry = TheRegistry();
  absl::MutexLock lock(&registry.mu);
  recording.store(false, std::memory_order_relaxed);
  for (const auto& buffer : registry.buffers) {
    absl::MutexLock buffer_lock(&buffer->mu);
    buffer->events.clear();
    buffer->exited = buffer.get() != &self;
  }
  TakeEvents(registry);
  self.tid = static_cast<int>(::syscall(SYS_gettid));
  {
    absl::MutexLock buffer_lock(&self.mu);
    self.name = std::string(name);
  }
  if (session.start_ns == 0) return;
  registry.session = session;
  registry.is_child = true;
  // Ids of this process's own, apart from the parent's.
  next_id.store(static_cast<uint64_t>(::getpid()) << 32,
                std::memory_order_relaxed);
  start_ns.store(session.start_ns, std::memory_order_relaxed);
  recorded.store(0, std::memory_order_relaxed);
  dropped.store(0, std::memory_order_relaxed);
  recording.store(true, std::memory_order_release);
}

void FinishChild() {
  const std::vector<Event> events = Stop();
  if (events.empty()) return;
  Registry& registry = TheRegistry();
  std::string directory;
  {
    absl::MutexLock lock(&registry.mu);
    if (!registry.is_child) return;
    directory = internal::ChildEventsDirectory(registry.session);
  }
  std::string text;
  for (const Event& event : events) absl::StrAppend(&text, EventLine(event));
  // Written aside and renamed, so that the parent reads whole files only. When
  // the parent has stopped already, the directory is gone and this fails.
  const std::string path = absl::StrCat(directory, "/", ::getpid());
  std::ofstream out(absl::StrCat(path, ".tmp"));
  out << text;
  out.close();
  if (!out) {
    ::unlink(absl::StrCat(path, ".tmp").c_str());
    return;
  }
  ::rename(absl::StrCat(path, ".tmp").c_str(),
           absl::StrCat(path, ".events").c_str());
}

}  // namespace internal

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
