#include "multiprocessing/process/serialize.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/errors.h"
#include "cereal/details/helpers.hpp"

namespace pyconc::multiprocessing::internal {
namespace {

thread_local FdTable* current_table = nullptr;

}  // namespace

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

FdScope::FdScope(FdTable* table) : previous_(current_table) {
  current_table = table;
}

FdScope::~FdScope() { current_table = previous_; }

int ExportFd(int fd) {
  if (current_table == nullptr) {
    throw cereal::Exception(
        "a Connection or Queue can cross to another process only as an "
        "argument of Process or a pool's initializer, not inside a message");
  }
  const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw FdExportError(errno, fd);
  current_table->fds.emplace_back(copy);
  return static_cast<int>(current_table->fds.size()) - 1;
}

FdExportError::FdExportError(int error, int fd)
    : cereal::Exception(absl::StrCat("cannot duplicate descriptor ", fd,
                                     " for another process")),
      error_(error) {}

absl::Status SerializeError(const std::exception& e) {
  if (const auto* fd_error = dynamic_cast<const FdExportError*>(&e)) {
    return ErrnoError(fd_error->error(), fd_error->what());
  }
  return MakeError(PythonError::kPicklingError, e.what());
}

UniqueFd ImportFd(int index) {
  if (current_table == nullptr || index < 0 ||
      index >= static_cast<int>(current_table->fds.size()) ||
      !current_table->fds[index].valid()) {
    throw cereal::Exception(
        absl::StrCat("no file descriptor #", index, " came with the message"));
  }
  return std::move(current_table->fds[index]);
}

}  // namespace pyconc::multiprocessing::internal
