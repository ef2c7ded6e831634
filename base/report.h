// Report: the one place pyconc writes what a program cannot be told through a
// return value. Python prints these to stderr from three places; pyconc sends
// all of them here:
//
//   an exception nobody retrieved from a finished threading pool Future
//   ("Future exception was never retrieved", when the Future is destroyed),
//   asyncio's default exception handler (the text Python's
//   loop.default_exception_handler logs), and
//   threading's default excepthook (a Thread's uncaught exception).
//
// The sink is process-wide: by default it writes each report to stderr with
// one write(2), so reports from different threads never interleave mid-line. A
// program (or a test) replaces it with SetReportSink, e.g. to send reports to
// its own log. asyncio's per-loop exception handler (SetExceptionHandler) and
// threading's excepthook stay what they are in Python; only their defaults
// write here.
//
// Thread-safety: Report() and SetReportSink() may be called from any thread;
// a sink must itself be thread-safe, and stay callable after it is replaced
// (a report already under way may still call it).

#ifndef PYCONC_BASE_REPORT_H_
#define PYCONC_BASE_REPORT_H_

#include "absl/strings/string_view.h"

namespace pyconc {

// A destination for reports: receives whole lines, each ending in "\n".
using ReportSink = void (*)(absl::string_view text);

// Sends `text` (one report: whole lines ending in "\n") to the sink.
void Report(absl::string_view text);

// Makes `sink` the destination of every later report, and returns the previous
// one; nullptr restores the default (stderr).
ReportSink SetReportSink(ReportSink sink);

}  // namespace pyconc

#endif  // PYCONC_BASE_REPORT_H_
