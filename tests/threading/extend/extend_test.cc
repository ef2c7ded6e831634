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
  EXPECT_THAT(run.out, HasSubstr("1 bytes  fnv1a=af63dc4c8601ec8c"));
  EXPECT_THAT(run.out, HasSubstr("0 bytes  fnv1a=cbf29ce484222325"));
  EXPECT_THAT(run.out, HasSubstr("hash a.txt"));
  EXPECT_THAT(run.out, HasSubstr("2 FileHasher threads"));
}

TEST(ExtendToolTest, AnUnreadableFileIsReportedAndTheOthersGoOn) {
  const std::string a = WriteFile("b.txt", "a");
  const auto run =
      RunTool("threading/extend/extend", {"--files=/no/such/file," + a});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "extend: cannot read /no/such/file\n");
  EXPECT_THAT(run.out, HasSubstr("fnv1a=af63dc4c8601ec8c"));
  EXPECT_THAT(run.out, HasSubstr("1 failed"));
}

TEST(ExtendToolTest, NoFilesIsBadInput) {
  const auto run = RunTool("threading/extend/extend", {"--files=,"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "extend: --files names no file\n");
}

}  // namespace
