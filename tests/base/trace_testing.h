// What the libraries' trace tests share: picking events out of a recording and
// checking that it is well formed, as Perfetto and chrome://tracing need it.

#ifndef PYCONC_TESTS_BASE_TRACE_TESTING_H_
#define PYCONC_TESTS_BASE_TRACE_TESTING_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "base/trace.h"
#include "gtest/gtest.h"

namespace pyconc::trace::testing {

// The events of `phase` (and of `category`, unless empty).
inline std::vector<Event> Of(const std::vector<Event>& events, char phase,
                             absl::string_view category = "") {
  std::vector<Event> out;
  for (const Event& event : events) {
    if (event.phase == phase &&
        (category.empty() || event.category == category))
      out.push_back(event);
  }
  return out;
}

// The name of each (pid, tid) track, from the 'M' events.
inline std::map<std::pair<int, int>, std::string> TrackNames(
    const std::vector<Event>& events) {
  std::map<std::pair<int, int>, std::string> names;
  for (const Event& event : Of(events, 'M')) {
    names[{event.pid, event.tid}] = event.name;
  }
  return names;
}

// Whether `ts` on track (pid, tid) lies inside one of its 'X' slices.
inline bool InsideASlice(const std::vector<Event>& events, int pid, int tid,
                         int64_t ts) {
  for (const Event& slice : Of(events, 'X')) {
    if (slice.pid == pid && slice.tid == tid && slice.ts_ns <= ts &&
        ts <= slice.ts_ns + slice.dur_ns) {
      return true;
    }
  }
  return false;
}

// Checks what a viewer relies on: the slices of one track nest (two either do
// not overlap or one contains the other); the 'b'/'e' spans of one id nest
// (an asyncio task's awaits inside its life), each 'e' closing the latest
// open 'b' of its id, of the same name and category, and none left open;
// every 's' has one 'f' of the same id, no earlier, and each end of a flow
// lies inside a slice of its track; counters are >= 0.
inline void ExpectWellFormed(const std::vector<Event>& events) {
  const std::vector<Event> slices = Of(events, 'X');
  for (size_t i = 0; i < slices.size(); ++i) {
    const Event& a = slices[i];
    EXPECT_GE(a.dur_ns, 0) << a.name;
    for (size_t j = i + 1; j < slices.size(); ++j) {
      const Event& b = slices[j];
      if (a.pid != b.pid || a.tid != b.tid) continue;
      const int64_t a_end = a.ts_ns + a.dur_ns, b_end = b.ts_ns + b.dur_ns;
      const bool apart = a_end <= b.ts_ns || b_end <= a.ts_ns;
      const bool a_holds_b = a.ts_ns <= b.ts_ns && b_end <= a_end;
      const bool b_holds_a = b.ts_ns <= a.ts_ns && a_end <= b_end;
      EXPECT_TRUE(apart || a_holds_b || b_holds_a)
          << "slices '" << a.name << "' and '" << b.name
          << "' overlap without nesting";
    }
  }
  // Events come ordered by time (trace::Stop()), a thread's in its order.
  std::map<uint64_t, std::vector<const Event*>> open_spans;
  for (const Event& event : events) {
    if (event.phase == 'b') open_spans[event.id].push_back(&event);
    if (event.phase != 'e') continue;
    std::vector<const Event*>& open = open_spans[event.id];
    ASSERT_FALSE(open.empty()) << "'e' " << event.name << " never began";
    EXPECT_EQ(open.back()->name, event.name) << "spans of one id cross";
    EXPECT_EQ(open.back()->category, event.category) << event.name;
    open.pop_back();
  }
  for (const auto& [id, open] : open_spans) {
    for (const Event* begin : open) {
      ADD_FAILURE() << "span '" << begin->name << "' (id " << id
                    << ") never ends";
    }
  }
  std::map<uint64_t, std::vector<Event>> opened, closed;
  for (const Event& event : Of(events, 's')) opened[event.id].push_back(event);
  for (const Event& event : Of(events, 'f')) closed[event.id].push_back(event);
  EXPECT_EQ(opened.size(), closed.size()) << "s/f";
  for (const auto& [id, starts] : opened) {
    ASSERT_EQ(starts.size(), 1u) << "s id " << id << " reused";
    const auto ends = closed.find(id);
    ASSERT_NE(ends, closed.end()) << "s id " << id << " never ends";
    ASSERT_EQ(ends->second.size(), 1u) << "f id " << id << " twice";
    const Event& start = starts[0];
    const Event& end = ends->second[0];
    EXPECT_LE(start.ts_ns, end.ts_ns) << start.name;
    EXPECT_TRUE(InsideASlice(events, start.pid, start.tid, start.ts_ns))
        << "flow " << id << " starts outside a slice";
    EXPECT_TRUE(InsideASlice(events, end.pid, end.tid, end.ts_ns))
        << "flow " << id << " ends outside a slice";
  }
  for (const Event& counter : Of(events, 'C')) {
    EXPECT_GE(counter.value, 0) << counter.name;
  }
}

}  // namespace pyconc::trace::testing

#endif  // PYCONC_TESTS_BASE_TRACE_TESTING_H_
