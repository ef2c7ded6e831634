// WriteChromeTrace: a recording of //base:trace as Chrome's Trace Event JSON.
//
// The file is the JSON object format ({"traceEvents": [...], "displayTimeUnit":
// "ns"}) that Perfetto (ui.perfetto.dev, "Open trace file") and
// chrome://tracing load. Timestamps are microseconds with fractions, as the
// format wants.
//
// A separate target from //base:trace so that the libraries, which only record,
// do not link a JSON library; a program that writes traces (every tool, through
// tools/cli) depends on this one. The JSON is written with nlohmann/json
// (Debian's nlohmann-json3-dev).
//
// Thread-safety: WriteChromeTrace may be called from any thread.

#ifndef PYCONC_BASE_TRACE_JSON_H_
#define PYCONC_BASE_TRACE_JSON_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "base/trace.h"

namespace pyconc::trace {

// The events as one Trace Event JSON document.
std::string ToChromeTraceJson(const std::vector<Event>& events);

// Writes ToChromeTraceJson(events) to `path`; an OSError status when it cannot.
absl::Status WriteChromeTrace(const std::vector<Event>& events,
                              const std::string& path);

}  // namespace pyconc::trace

#endif  // PYCONC_BASE_TRACE_JSON_H_
