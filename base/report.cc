#include "base/report.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "absl/strings/string_view.h"

namespace pyconc {
namespace {

// One write(2) for the whole report, unless the kernel takes it in parts.
void WriteToStderr(absl::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // Nowhere to report to.
    text.remove_prefix(static_cast<size_t>(n));
  }
}

std::atomic<ReportSink> sink{&WriteToStderr};

}  // namespace

void Report(absl::string_view text) {
  sink.load(std::memory_order_acquire)(text);
}

ReportSink SetReportSink(ReportSink new_sink) {
  return sink.exchange(new_sink != nullptr ? new_sink : &WriteToStderr,
                       std::memory_order_acq_rel);
}

}  // namespace pyconc
