// The error vocabulary: one code per Python exception, Python's class tree in
// IsError(), and the README's "Errors" table saying the same as the code.

#include "base/errors.h"

#include <cerrno>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

namespace pyconc {
namespace {

TEST(MakeError, MessageIsThePythonNameThenTheDetail) {
  EXPECT_EQ(MakeError(PythonError::kQueueFull),
            absl::ResourceExhaustedError("queue.Full"));
  EXPECT_EQ(MakeError(PythonError::kEOFError, "the peer closed mid-message"),
            absl::OutOfRangeError("EOFError: the peer closed mid-message"));
}

TEST(IsError, MatchesTheNameAndTheCode) {
  EXPECT_TRUE(
      IsError(MakeError(PythonError::kQueueEmpty), PythonError::kQueueEmpty));
  EXPECT_FALSE(
      IsError(MakeError(PythonError::kQueueEmpty), PythonError::kQueueFull));
  // Same code, another name: BrokenExecutor is not queue.Empty.
  EXPECT_FALSE(IsError(MakeError(PythonError::kBrokenExecutor),
                       PythonError::kQueueEmpty));
  // The right name with the wrong code is not the exception.
  EXPECT_FALSE(
      IsError(absl::InternalError("queue.Empty"), PythonError::kQueueEmpty));
  // A name that only starts like another is not it.
  EXPECT_FALSE(IsError(absl::UnavailableError("queue.Emptyish"),
                       PythonError::kQueueEmpty));
  EXPECT_FALSE(IsError(absl::OkStatus(), PythonError::kOSError));
}

TEST(IsError, FollowsPythonsClassTreeAsExceptDoes) {
  const absl::Status broken_pipe = ErrnoError(EPIPE, "send");
  EXPECT_TRUE(IsError(broken_pipe, PythonError::kBrokenPipeError));
  EXPECT_TRUE(IsError(broken_pipe, PythonError::kOSError));
  EXPECT_FALSE(
      IsError(MakeError(PythonError::kOSError), PythonError::kBrokenPipeError));
  EXPECT_TRUE(IsError(MakeError(PythonError::kBrokenProcessPool, "worker died"),
                      PythonError::kBrokenExecutor));
  EXPECT_TRUE(IsError(MakeError(PythonError::kIncompleteReadError),
                      PythonError::kEOFError));
  EXPECT_TRUE(
      IsError(MakeError(PythonError::kTimeoutError), PythonError::kOSError));
}

TEST(ErrnoError, NamesTheSubclassAndKeepsTheErrnoText) {
  const absl::Status status = ErrnoError(EPIPE, "send");
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(status.message(), "BrokenPipeError: [Errno 32] Broken pipe: send");
  EXPECT_TRUE(IsError(ErrnoError(ECONNREFUSED, ""),
                      PythonError::kConnectionRefusedError));
  EXPECT_EQ(ErrnoError(ETIMEDOUT, "connect").code(),
            absl::StatusCode::kDeadlineExceeded);
  const absl::Status exists = ErrnoError(EEXIST, "'/psm_1'");
  EXPECT_EQ(exists.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(exists.message(),
            "FileExistsError: [Errno 17] File exists: '/psm_1'");
  EXPECT_TRUE(IsError(exists, PythonError::kOSError));
}

TEST(ErrnoError, RunningOutIsResourceExhaustedAndStillAnOSError) {
  const absl::Status status = ErrnoError(EMFILE, "epoll_create1");
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(),
            "OSError: [Errno 24] Too many open files: epoll_create1");
  EXPECT_TRUE(IsError(status, PythonError::kOSError));
  EXPECT_EQ(ErrnoError(EIO, "read").code(), absl::StatusCode::kInternal);
}

// The README's table, row by row: "| `name`, `name` (note) | `kCode` |".
std::map<std::string, std::string> ReadmeTable() {
  std::ifstream file("README.md");
  std::stringstream text;
  text << file.rdbuf();
  std::map<std::string, std::string> code_of_name;
  bool in_errors = false;
  for (absl::string_view line : absl::StrSplit(text.str(), '\n')) {
    if (absl::StartsWith(line, "## ")) in_errors = line == "## Errors";
    if (!in_errors || !absl::StartsWith(line, "| `")) continue;
    const std::vector<absl::string_view> cells = absl::StrSplit(line, '|');
    if (cells.size() < 3) continue;
    const std::vector<absl::string_view> code_parts =
        absl::StrSplit(cells[2], '`');
    if (code_parts.size() < 2) continue;
    const std::vector<absl::string_view> name_parts =
        absl::StrSplit(cells[1], '`');
    // Backticked spans are the odd pieces; names come before any parenthesis.
    for (size_t i = 1; i < name_parts.size(); i += 2) {
      if (absl::StrContains(name_parts[i - 1], "(")) break;
      code_of_name[std::string(name_parts[i])] = std::string(code_parts[1]);
    }
  }
  return code_of_name;
}

std::string CodeName(absl::StatusCode code) {
  std::string name = absl::StatusCodeToString(code);  // "RESOURCE_EXHAUSTED"
  std::string camel = "k";
  bool upper = true;
  for (char c : name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    camel += upper ? c : static_cast<char>(std::tolower(c));
    upper = false;
  }
  return camel;
}

TEST(ReadmeErrorsTable, ListsEveryExceptionWithItsCode) {
  const std::map<std::string, std::string> table = ReadmeTable();
  ASSERT_FALSE(table.empty()) << "no \"## Errors\" table in README.md";
  for (PythonError error : AllPythonErrors()) {
    const std::string name(PythonName(error));
    auto row = table.find(name);
    ASSERT_NE(row, table.end()) << name << " is missing from README.md";
    EXPECT_EQ(row->second, CodeName(StatusCodeOf(error))) << name;
  }
  EXPECT_EQ(table.size(), AllPythonErrors().size())
      << "README.md names an exception that base/errors.h does not";
}

}  // namespace
}  // namespace pyconc
