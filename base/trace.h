// Timelines: what pyconc's libraries record so that a program's concurrency can
// be seen.
//
// While a trace is recording, the libraries note what their threads do: a
// Thread's body, a pool call and the Submit() that sent it, each step of an
// asyncio task, the depth of a queue, the permits of a semaphore.
// WriteChromeTrace() (//base:trace_json) turns the recording into Chrome's
// Trace Event JSON, which Perfetto (ui.perfetto.dev) and chrome://tracing open:
// one track per thread, named.
//
//   pyconc::trace::Start();
//   ... run the program ...
//   pyconc::trace::WriteChromeTrace(pyconc::trace::Stop(), "trace.json");
//
// Every tool takes --trace=FILE, which does exactly that (tools/cli).
//
// Cost: every recording function starts with Enabled(), one relaxed load of a
// flag that is false unless a trace is recording, so a program that never
// traces pays one predictable branch per recording point. While recording, an
// event is appended to a buffer of the calling thread's own (a mutex nobody
// else takes but Stop()).
//
// Bound: a recording keeps at most kMaxEvents events; later ones are dropped
// and counted (DroppedEvents()), except the slices of category "thread" and
// "process" (one per thread or process body), which are always kept.
//
// Thread-safety: every function may be called from any thread. Events recorded
// while Stop() runs may be kept or dropped; none is torn.
//
// Python has no built-in equivalent; viztracer and Perfetto's SDK record the
// same kinds of events, and this is their Trace Event vocabulary:
// clang-format off
//   Slice           "X"      work on one thread (a task step, a pool call)
//   AsyncBegin/End  "b"/"e"  a span of no one thread (an asyncio task's life)
//   FlowBegin/End   "s"/"f"  an arrow between two slices (Submit -> call)
//   Counter         "C"      a value over time (queue depth, permits)
//   NameThisThread  "M"      the name of the calling thread's track
// clang-format on

#ifndef PYCONC_BASE_TRACE_H_
#define PYCONC_BASE_TRACE_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace pyconc::trace {

// One recorded event, in Chrome's Trace Event terms.
struct Event {
  char phase = 'X';  // 'X', 'b', 'e', 's', 'f', 'C' or 'M'.
  std::string name;
  std::string category;
  int64_t ts_ns = 0;   // Since Start().
  int64_t dur_ns = 0;  // 'X' only.
  uint64_t id = 0;     // 'b', 'e', 's', 'f': what pairs them.
  double value = 0;    // 'C' only.
  int pid = 0;
  int tid = 0;
};

namespace internal {
inline std::atomic<bool> recording{false};
}  // namespace internal

// Whether a trace is recording (one relaxed load).
inline bool Enabled() {
  return internal::recording.load(std::memory_order_relaxed);
}

// Starts recording; what an earlier recording left is dropped. Returns false
// (and changes nothing) when a trace is already recording.
bool Start();

// Stops recording and returns the events recorded since Start(), ordered by
// time, with the names of the threads that recorded them ('M' events first).
std::vector<Event> Stop();

// The most events one recording keeps (see the top of this file).
inline constexpr int64_t kMaxEvents = 100'000;

// The events the last (or current) recording dropped past kMaxEvents.
int64_t DroppedEvents();

// A fresh id for a pair of 'b'/'e' or 's'/'f' events.
uint64_t NewId();

// Names the calling thread's track (Python's Thread.name); remembered even when
// no trace records, so that a thread named before Start() is named in the
// trace.
void NameThisThread(absl::string_view name);

// Records an 'X' slice on the calling thread from construction to destruction,
// when a trace was recording at construction. `category` and `name` must
// outlive the Slice (string literals, or a name the caller owns).
class Slice {
 public:
  Slice(absl::string_view category, absl::string_view name)
      : category_(category), name_(name) {
    if (Enabled()) start_ns_ = Now();
  }
  ~Slice() {
    if (start_ns_ >= 0) End();
  }
  Slice(const Slice&) = delete;
  Slice& operator=(const Slice&) = delete;

 private:
  static int64_t Now();
  void End();

  absl::string_view category_;
  absl::string_view name_;
  int64_t start_ns_ = -1;
};

// Records a span that is not tied to one thread ('b' ... 'e' with the same id).
void AsyncBegin(absl::string_view category, absl::string_view name,
                uint64_t id);
void AsyncEnd(absl::string_view category, absl::string_view name, uint64_t id);

// Records an arrow ('s' ... 'f' with the same id) from the slice the calling
// thread is in to the slice another thread is in when it calls FlowEnd.
void FlowBegin(absl::string_view category, uint64_t id);
void FlowEnd(absl::string_view category, uint64_t id);

// Records that `name` now has `value` (a queue's depth, a semaphore's permits).
void Counter(absl::string_view category, absl::string_view name, double value);

// Child processes (for //multiprocessing, which starts them). A child records
// into its parent's trace: while the parent records, the child records too, on
// its own process track, and writes its events at exit to a file beside the
// parent's recording (a directory under $TMPDIR, /tmp by default), which the
// parent's Stop() reads and removes. What a child records is therefore in the
// trace when the child has exited before Stop(): one killed by a signal, or
// still running at Stop(), leaves no events.
namespace internal {

// What a child needs to record into the calling process's trace; both zero
// when no trace records.
struct ChildSession {
  int64_t start_ns = 0;  // The recording's start, in absolute nanoseconds.
  int64_t root_pid = 0;  // The process that called Start().
};
ChildSession SessionForChild();

// Where the children of `session` leave their events (a directory).
std::string ChildEventsDirectory(const ChildSession& session);

// In a child, right after fork(): drops what the fork copied of the parent's
// recording, names the calling thread's track `name`, and records into
// `session` unless it is zero (then nothing records).
void RecordAsChild(const ChildSession& session, absl::string_view name);

// In a child that called RecordAsChild(), as it exits: stops recording and
// writes the events where the parent's Stop() collects them.
void FinishChild();

}  // namespace internal

}  // namespace pyconc::trace

#endif  // PYCONC_BASE_TRACE_H_
