#include "base/trace_json.h"

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "base/errors.h"
#include "base/trace.h"
#include "nlohmann/json.hpp"

namespace pyconc::trace {

std::string ToChromeTraceJson(const std::vector<Event>& events) {
  nlohmann::json trace_events = nlohmann::json::array();
  for (const Event& event : events) {
    nlohmann::json json = {
        {"ph", std::string(1, event.phase)},
        {"pid", event.pid},
        {"tid", event.tid},
    };
    if (event.phase == 'M') {
      json["name"] = "thread_name";
      json["args"] = {{"name", event.name}};
      trace_events.push_back(std::move(json));
      continue;
    }
    json["name"] = event.name;
    json["cat"] = event.category;
    json["ts"] = static_cast<double>(event.ts_ns) / 1e3;
    switch (event.phase) {
      case 'X':
        json["dur"] = static_cast<double>(event.dur_ns) / 1e3;
        break;
      case 'b':
      case 'e':
      case 's':
        json["id"] = event.id;
        break;
      case 'f':
        json["id"] = event.id;
        json["bp"] = "e";  // Binds to the slice that encloses it.
        break;
      case 'C':
        json["args"] = {{event.name, event.value}};
        break;
      default:
        break;
    }
    trace_events.push_back(std::move(json));
  }
  const nlohmann::json document = {{"traceEvents", std::move(trace_events)},
                                   {"displayTimeUnit", "ns"}};
  return document.dump();
}

absl::Status WriteChromeTrace(const std::vector<Event>& events,
                              const std::string& path) {
  const std::string json = ToChromeTraceJson(events);
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return ErrnoError(errno, path);
  const bool written =
      std::fwrite(json.data(), 1, json.size(), file) == json.size();
  const int write_errno = errno;
  if (std::fclose(file) != 0 || !written) {
    return ErrnoError(written ? errno : write_errno, path);
  }
  return absl::OkStatus();
}

}  // namespace pyconc::trace
