// The tool, run as a user would: bad input gives one line and exit code 2; a
// failing symbol gets its row and exit code 1; all good is 0.
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct ToolRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

ToolRun RunTool(const std::string& args) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  const std::string out = dir + "/tool.out";
  const std::string err = dir + "/tool.err";
  const std::string command = absl::StrCat("threading/stocks/tool ", args, " >",
                                           out, " 2>", err, " </dev/null");
  ToolRun run;
  const int status = std::system(command.c_str());
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  run.out = ReadFile(out);
  run.err = ReadFile(err);
  return run;
}

// Bad input: exit code 2 and exactly one line on stderr.
void ExpectUsageError(const std::string& args, const std::string& message) {
  const ToolRun run = RunTool(args);
  EXPECT_EQ(run.exit_code, 2) << args;
  EXPECT_THAT(run.err, HasSubstr(message)) << args;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1)
      << args << ": " << run.err;
}

TEST(ToolTest, BadInputIsOneLineAndExitCode2) {
  ExpectUsageError("--mode=processes", "--mode must be");
  ExpectUsageError("--workers=0", "--workers must be in");
  ExpectUsageError("--symbols_file=/no/such/file",
                   "cannot read --symbols_file");
  ExpectUsageError("--symbols='A;B'", "is not a ticker symbol");
  ExpectUsageError("--xpath='//['", "bad XPath");
  ExpectUsageError("--url_template=http://example.com/quote",
                   "has no {symbol}");
  ExpectUsageError("--url_template='not a url {symbol}'",
                   "not an absolute URL");
}

TEST(ToolTest, AllGoodIsExitCode0WithATable) {
  const ToolRun run =
      RunTool("--symbols=AAPL,MSFT,KO --delay_ms=0 --mode=pool --workers=2");
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("3 symbols: 3 ok, 0 failed"));
  EXPECT_THAT(run.out, HasSubstr("speed-up"));
  EXPECT_EQ(run.err, "");  // No progress line: stderr is not a terminal.
}

TEST(ToolTest, AFailingSymbolGetsItsRowAndExitCode1) {
  const ToolRun run = RunTool(
      "--symbols=AAPL,ERR500,NOPRICE --delay_ms=0 --retries=0 --compare=false");
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  bool found = false;
  for (absl::string_view line : absl::StrSplit(run.out, '\n')) {
    if (absl::StrContains(line, "ERR500")) {
      found = true;
      EXPECT_THAT(std::string(line), HasSubstr("FAILED: HTTP 500"));
    }
  }
  EXPECT_TRUE(found) << run.out;
  EXPECT_THAT(run.out, HasSubstr("3 symbols: 1 ok, 2 failed"));
}

TEST(ToolTest, UnknownHostIsARowNotACrash) {
  const ToolRun run =
      RunTool("--url_template=http://quotes.invalid/{symbol} --symbols=AAPL");
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("FAILED: unknown host: quotes.invalid"));
}

TEST(ToolTest, EndlessSymbolsFileIsRefused) {
  const ToolRun run = RunTool("--symbols_file=/dev/zero --delay_ms=0");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_THAT(run.err, HasSubstr("is larger than 1 MiB"));
}

TEST(ToolTest, SymbolsFileWithComments) {
  const std::string path =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/symbols.txt");
  std::ofstream(path) << "# my portfolio\nAAPL, MSFT  # big ones\nKO\n";
  const ToolRun run = RunTool(
      absl::StrCat("--symbols_file=", path, " --delay_ms=0 --mode=sequential"));
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("3 symbols: 3 ok, 0 failed"));
}

}  // namespace
