// The //threading/extend tool: FileHasher threads (Thread subclasses) hash
// files.
#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

std::string WriteFile(const std::string& name, const std::string& contents) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::ofstream(path) << contents;
  return path;
}

TEST(ExtendToolTest, HashesEachFileOnItsOwnThread) {
  // FNV-1a of "a" is af63dc4c8601ec8c; of the empty file, the offset basis.
  const std::string a = WriteFile("a.txt", "a");
  const std::string empty = WriteFile("empty.txt", "");
  const auto run =
      RunTool("threading/extend/extend", {"--files=" + a + "," + empty});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, ContainsRegex(" 1  af63dc4c8601ec8c  [^ ]*/a.txt\n"));
  EXPECT_THAT(run.out,
              ContainsRegex(" 0  cbf29ce484222325  [^ ]*/empty.txt\n"));
  EXPECT_THAT(run.out, HasSubstr("hash a.txt"));
  EXPECT_THAT(run.out, HasSubstr("2 FileHasher threads"));
  EXPECT_THAT(run.out, HasSubstr("\nTutorial: Subclass Thread and override "
                                 "Run(): Start() runs it on a new thread"));
  // Each Run() records its own thread's id; main checks the digests.
  EXPECT_THAT(run.out, ContainsRegex("\nMeasured: 2 of 2 FileHasher Run\\(\\)s "
                                     "ran on a thread other than main's "
                                     "\\([0-9]+\\) and hashed 1 bytes; 2 of 2 "
                                     "results equal main's own hashing.\n"));
  EXPECT_THAT(run.out, HasSubstr("\nShown:    yes\n"));
}

TEST(ExtendToolTest, AnUnreadableFileIsReportedAndTheOthersGoOn) {
  const std::string a = WriteFile("b.txt", "a");
  const auto run =
      RunTool("threading/extend/extend", {"--files=/no/such/file," + a});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "extend: cannot read /no/such/file\n");
  EXPECT_THAT(run.out, HasSubstr(" af63dc4c8601ec8c "));
  EXPECT_THAT(run.out, HasSubstr("1 failed"));
}

TEST(ExtendToolTest, NoFilesIsBadInput) {
  const auto run = RunTool("threading/extend/extend", {"--files=,"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "extend: --files names no file\n");
}

}  // namespace
