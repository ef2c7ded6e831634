// Report(): one sink for what no caller can be told, stderr by default and
// replaceable.

#include "base/report.h"

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace pyconc {
namespace {

std::vector<std::string>* received = nullptr;

void Collect(absl::string_view text) { received->emplace_back(text); }

TEST(ReportTest, DefaultSinkWritesEachReportToStderr) {
  ::testing::internal::CaptureStderr();
  Report("first line\n");
  Report("two\nlines\n");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "first line\ntwo\nlines\n");
}

TEST(ReportTest, AReplacedSinkReceivesEveryReportWhole) {
  std::vector<std::string> reports;
  received = &reports;
  const ReportSink previous = SetReportSink(&Collect);
  ::testing::internal::CaptureStderr();
  Report("one\n");
  Report("two\nlines\n");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(SetReportSink(previous), &Collect);
  EXPECT_EQ(reports, (std::vector<std::string>{"one\n", "two\nlines\n"}));
  received = nullptr;
}

TEST(ReportTest, NullRestoresStderr) {
  std::vector<std::string> reports;
  received = &reports;
  SetReportSink(&Collect);
  SetReportSink(nullptr);
  ::testing::internal::CaptureStderr();
  Report("back\n");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "back\n");
  EXPECT_TRUE(reports.empty());
  received = nullptr;
}

}  // namespace
}  // namespace pyconc
