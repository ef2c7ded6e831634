#include "tools/tour/report.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "nlohmann/json.hpp"

namespace pyconc::tour {
namespace {

constexpr double kWidth = 900;       // Pixels for the time axis.
constexpr double kLabelWidth = 130;  // Pixels for lane names.
constexpr double kLaneHeight = 18;
constexpr double kCounterHeight = 36;
constexpr size_t kMaxLanes = 12;  // Thread lanes drawn one by one.

std::string Escape(const std::string& text) {
  return absl::StrReplaceAll(
      text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

// A fill colour per category, from a small palette.
std::string Colour(const std::string& category) {
  static const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f",
                                         "#e15759", "#76b7b2", "#edc948",
                                         "#b07aa1", "#9c755f"};
  return kPalette[std::hash<std::string>()(category) % 8];
}

std::string FormatMicros(double us) {
  if (us >= 1e6) return absl::StrFormat("%.2f s", us / 1e6);
  if (us >= 1e3) return absl::StrFormat("%.1f ms", us / 1e3);
  return absl::StrFormat("%.0f us", us);
}

struct SliceEvent {
  double ts, dur;
  std::string name, category;
};

struct Lanes {
  std::map<int64_t, std::string> thread_names;
  std::map<int64_t, std::vector<SliceEvent>> slices;  // By tid.
  // Async spans ('b' to 'e', an asyncio task's life), in the order they ended.
  std::vector<SliceEvent> spans;
  std::map<std::string, std::vector<std::pair<double, double>>> counters;
  double end = 0;
};

Lanes Collect(const nlohmann::json& events) {
  Lanes lanes;
  std::map<uint64_t, double> open_spans;  // Begun and not ended, by id.
  for (const nlohmann::json& event : events) {
    const std::string phase = event.value("ph", "");
    const int64_t tid = event.value("tid", int64_t{0});
    if (phase == "M") {
      lanes.thread_names[tid] =
          event.contains("args") ? event["args"].value("name", "") : "";
      continue;
    }
    const double ts = event.value("ts", 0.0);
    if (phase == "X") {
      const double dur = event.value("dur", 0.0);
      lanes.slices[tid].push_back(
          {ts, dur, event.value("name", ""), event.value("cat", "")});
      lanes.end = std::max(lanes.end, ts + dur);
    } else if (phase == "b" || phase == "e") {
      const uint64_t id = event.value("id", uint64_t{0});
      if (phase == "b") {
        open_spans[id] = ts;
      } else if (auto begun = open_spans.find(id); begun != open_spans.end()) {
        lanes.spans.push_back({begun->second, ts - begun->second,
                               event.value("name", ""), "task"});
        open_spans.erase(begun);
      }
      lanes.end = std::max(lanes.end, ts);
    } else if (phase == "C" && event.contains("args")) {
      for (const auto& [name, value] : event["args"].items()) {
        if (value.is_number()) {
          lanes.counters[name].emplace_back(ts, value.get<double>());
        }
      }
      lanes.end = std::max(lanes.end, ts);
    } else {
      lanes.end = std::max(lanes.end, ts);
    }
  }
  return lanes;
}

}  // namespace

std::string TimelineSvg(const std::string& trace_json) {
  const nlohmann::json document =
      nlohmann::json::parse(trace_json, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object() || !document.contains("traceEvents")) return "";
  const Lanes lanes = Collect(document["traceEvents"]);
  if (lanes.slices.empty() && lanes.spans.empty() && lanes.counters.empty()) {
    return "";
  }
  const double end = lanes.end > 0 ? lanes.end : 1;
  const auto x = [&](double ts) { return kLabelWidth + ts / end * kWidth; };
  std::string body;
  double y = 0;
  // One lane per thread, up to kMaxLanes; the threads past them share the last
  // lane, so that a run of hundreds of threads stays a picture.
  std::vector<std::pair<std::string, std::vector<SliceEvent>>> rows;
  for (const auto& [tid, slices] : lanes.slices) {
    if (rows.size() == kMaxLanes) {
      rows.emplace_back("", std::vector<SliceEvent>());
    }
    if (rows.size() > kMaxLanes) {
      rows.back().first =
          absl::StrCat(lanes.slices.size() - kMaxLanes, " more threads");
      rows.back().second.insert(rows.back().second.end(), slices.begin(),
                                slices.end());
      continue;
    }
    auto name = lanes.thread_names.find(tid);
    rows.emplace_back(name != lanes.thread_names.end() && !name->second.empty()
                          ? name->second
                          : absl::StrCat("thread ", tid),
                      slices);
  }
  // Then a lane per task's life, as many; the rest share one.
  const size_t thread_rows = rows.size();
  for (const SliceEvent& span : lanes.spans) {
    if (rows.size() - thread_rows < kMaxLanes) {
      rows.emplace_back(absl::StrCat("task ", span.name),
                        std::vector<SliceEvent>{span});
      continue;
    }
    if (rows.size() - thread_rows == kMaxLanes) rows.emplace_back();
    rows.back().first =
        absl::StrCat(lanes.spans.size() - kMaxLanes, " more tasks");
    rows.back().second.push_back(span);
  }
  for (auto& [label, slices] : rows) {
    std::sort(
        slices.begin(), slices.end(),
        [](const SliceEvent& a, const SliceEvent& b) { return a.ts < b.ts; });
  }
  for (const auto& [label, slices] : rows) {
    absl::StrAppendFormat(&body,
                          "<text x=\"4\" y=\"%.1f\" class=\"lane\">%s</text>\n",
                          y + 13, Escape(label));
    // Slices less than half a pixel apart are drawn as one rectangle, so that
    // a lane of thousands of short steps stays a few hundred elements.
    for (size_t i = 0; i < slices.size();) {
      const SliceEvent& first = slices[i];
      double right = x(first.ts + first.dur);
      size_t next = i + 1;
      while (next < slices.size() && x(slices[next].ts) < right + 0.5 &&
             slices[next].category == first.category) {
        right = std::max(right, x(slices[next].ts + slices[next].dur));
        ++next;
      }
      const std::string title =
          next - i == 1
              ? absl::StrCat(Escape(first.name), " (", Escape(first.category),
                             "): ", FormatMicros(first.dur))
              : absl::StrCat(next - i, " slices (", Escape(first.category),
                             ") from ", Escape(first.name));
      absl::StrAppendFormat(
          &body,
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
          "fill=\"%s\"><title>%s</title></rect>\n",
          x(first.ts), y + 2, std::max(0.8, right - x(first.ts)),
          kLaneHeight - 4, Colour(first.category), title);
      i = next;
    }
    y += kLaneHeight;
  }
  for (const auto& [name, points] : lanes.counters) {
    double top = 0;
    for (const auto& point : points) top = std::max(top, point.second);
    if (top <= 0) top = 1;
    std::string path;
    double last = 0;
    for (size_t i = 0; i < points.size(); ++i) {
      const auto& [ts, value] = points[i];
      // One point per pixel column (its last value) is all a path can show.
      if (i + 1 < points.size() && x(points[i + 1].first) - x(ts) < 1) {
        continue;
      }
      const double py = y + kCounterHeight - value / top * (kCounterHeight - 4);
      absl::StrAppendFormat(&path, "%s%.1f,%.1f ", path.empty() ? "M" : "L",
                            x(ts), path.empty() ? py : last);
      absl::StrAppendFormat(&path, "L%.1f,%.1f ", x(ts), py);
      last = py;
    }
    absl::StrAppendFormat(
        &body,
        "<text x=\"4\" y=\"%.1f\" class=\"lane\">%s (max %g)</text>\n"
        "<path d=\"%s\" class=\"counter\"/>\n",
        y + 20, Escape(name), top, path);
    y += kCounterHeight;
  }
  absl::StrAppendFormat(&body,
                        "<text x=\"%.1f\" y=\"%.1f\" class=\"axis\">0</text>"
                        "<text x=\"%.1f\" y=\"%.1f\" class=\"axis\" "
                        "text-anchor=\"end\">%s</text>\n",
                        kLabelWidth, y + 14, kLabelWidth + kWidth, y + 14,
                        FormatMicros(end));
  return absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
      "height=\"%.0f\" class=\"timeline\">\n%s</svg>\n",
      kLabelWidth + kWidth + 10, y + 20, body);
}

std::string ReportHtml(const std::vector<TopicRun>& runs) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<title>pyconc tour</title>\n<style>\n"
      "body { font: 14px sans-serif; margin: 2em; max-width: 1100px; }\n"
      "section { border-top: 1px solid #ccc; padding: 0.5em 0 1em; }\n"
      "h2 { margin: 0.3em 0; } .python { color: #555; }\n"
      "pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }\n"
      ".lane, .axis { font: 11px monospace; fill: #333; }\n"
      ".counter { fill: none; stroke: #e15759; stroke-width: 1.5; }\n"
      ".failed { color: #b00; font-weight: bold; }\n"
      "</style></head>\n<body>\n<h1>The pyconc tour</h1>\n"
      "<p>Each topic of the Python concurrency tutorial, run with pyconc on "
      "this "
      "machine: what the tool printed (the tutorial's claim beside the numbers "
      "it "
      "measured) and the timeline it recorded (hover a slice for its name and "
      "length).</p>\n";
  for (const TopicRun& run : runs) {
    absl::StrAppend(&html, "<section>\n<h2>", Escape(run.title), "</h2>\n",
                    "<p class=\"python\">Python: ", Escape(run.python),
                    "<br><code>", Escape(run.command), "</code></p>\n");
    if (run.exit_code != 0) {
      absl::StrAppend(&html, "<p class=\"failed\">The tool exited with code ",
                      run.exit_code, ".</p>\n");
    }
    absl::StrAppend(&html, "<pre>", Escape(run.output), "</pre>\n");
    const std::string svg = TimelineSvg(run.trace_json);
    absl::StrAppend(&html,
                    svg.empty() ? "<p>(no timeline recorded)</p>\n" : svg,
                    "</section>\n");
  }
  absl::StrAppend(&html,
                  "<script>document.body.dataset.sections = "
                  "document.querySelectorAll('section').length;</script>\n"
                  "</body></html>\n");
  return html;
}

}  // namespace pyconc::tour
