// The tour's report: one self-contained HTML page with, per topic, the
// tutorial's claim and what the tool measured (its output), and an SVG timeline
// drawn from the trace the tool wrote with --trace.
//
// Self-contained: no network, no external script or stylesheet; the timelines
// are inline SVG, readable without a script (hovering a slice shows its name
// and length). A two-line script only counts the rendered sections into the
// page's body (data-sections), which the report's test reads back from headless
// Chromium.

#ifndef PYCONC_TOOLS_TOUR_REPORT_H_
#define PYCONC_TOOLS_TOUR_REPORT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace pyconc::tour {

// What one topic's tool did in the tour.
struct TopicRun {
  std::string title;    // "2.1 lock"
  std::string python;   // What it mirrors in Python.
  std::string command;  // How to run it alone.
  std::string output;   // What it printed (its claim and its numbers).
  int exit_code = 0;
  std::string trace_json;  // Its --trace file's contents; empty if none.
};

// An SVG timeline of a Chrome Trace Event JSON document: a lane per thread with
// its slices, and a lane per counter. Empty when the trace has no events.
std::string TimelineSvg(const std::string& trace_json);

// The report as one HTML document.
std::string ReportHtml(const std::vector<TopicRun>& runs);

}  // namespace pyconc::tour

#endif  // PYCONC_TOOLS_TOUR_REPORT_H_
