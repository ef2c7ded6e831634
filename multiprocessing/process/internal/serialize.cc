#include "multiprocessing/process/internal/serialize.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/errors.h"
#include "base/spin_wait.h"
#include "cereal/details/helpers.hpp"

namespace pyconc::multiprocessing::internal {
namespace {

using ::pyconc::internal::ManyCpus;

thread_local FdTable* current_table = nullptr;

// Writes to the file in pieces of this size: small values gather in memory.
constexpr size_t kFilePiece = size_t{64} << 10;

// Message files kept for reuse: at most this many, each at most this large.
constexpr size_t kCachedFiles = 2;
constexpr off_t kCachedFileBytes = off_t{256} << 20;

struct FileCache {
  absl::Mutex mu;
  std::vector<UniqueFd> files ABSL_GUARDED_BY(mu);
};

FileCache& Files() {
  static FileCache* cache = new FileCache;
  return *cache;
}

// Runs `beside` on a thread of its own while `here` runs on this one, and
// returns when both have; runs both here when no thread can be started.
void RunBeside(absl::FunctionRef<void()> beside,
               absl::FunctionRef<void()> here) {
  std::optional<std::thread> helper;
  try {
    helper.emplace(beside);
  } catch (const std::system_error&) {
    beside();
  }
  here();
  if (helper.has_value()) helper->join();
}

constexpr uintptr_t kPage = 4096;

}  // namespace

void AdviseHugePages(void* data, size_t size) {
  const uintptr_t start = reinterpret_cast<uintptr_t>(data);
  const uintptr_t first = (start + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t last = (start + size) & ~(kHugePage - 1);
  if (first >= last) return;
  (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
}

void OfferMessageFile(UniqueFd file) {
  struct stat status;
  if (!file.valid() || ::fstat(file.get(), &status) != 0 ||
      status.st_size > kCachedFileBytes) {
    return;
  }
  FileCache& cache = Files();
  absl::MutexLock lock(&cache.mu);
  if (cache.files.size() < kCachedFiles) cache.files.push_back(std::move(file));
}

UniqueFd TakeMessageFile() {
  {
    FileCache& cache = Files();
    absl::MutexLock lock(&cache.mu);
    if (!cache.files.empty()) {
      UniqueFd file = std::move(cache.files.back());
      cache.files.pop_back();
      return file;
    }
  }
  UniqueFd file(
      ::memfd_create("pyconc-message", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  // Sealed against shrinking, a reader may map it: nobody can cut it under
  // the mapping.
  if (file.valid() &&
      ::fcntl(file.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
    file.reset();
  }
  return file;
}

std::streamsize MessageStreamBuf::xsputn(const char* bytes, std::streamsize n) {
  const size_t size = static_cast<size_t>(n);
  std::string& buffered = out_->bytes_;
  if (!out_->file_.valid() && !memory_only_ &&
      buffered.size() + size > kSpillBytes) {
    out_->file_ = TakeMessageFile();
    if (out_->file_.valid()) {
      WriteBuffered();
    } else {
      memory_only_ = true;
    }
  }
  if (!out_->file_.valid()) {
    ReserveForFill(buffered, buffered.size() + size);
    buffered.append(bytes, size);
  } else if (size >= kFilePiece) {
    WriteBuffered();
    Write(bytes, size);
  } else {
    buffered.append(bytes, size);
    if (buffered.size() >= kFilePiece) WriteBuffered();
  }
  return n;
}

MessageStreamBuf::int_type MessageStreamBuf::overflow(int_type c) {
  if (!traits_type::eq_int_type(c, traits_type::eof())) {
    const char byte = traits_type::to_char_type(c);
    xsputn(&byte, 1);
  }
  return c;
}

bool MessageStreamBuf::Mapped(size_t end) {
  if (mapping_ != nullptr && mapping_->size() >= end) return true;
  if (unmappable_) return false;
  const int fd = out_->file_.get();
  struct stat file;
  if (::fstat(fd, &file) != 0) {
    unmappable_ = true;
    return false;
  }
  size_t length = static_cast<size_t>(file.st_size);
  if (length < end) {
    // Doubling, so that a message written in pieces maps its file a few
    // times only; in whole huge pages.
    const size_t grown = std::max(end, length * 2);
    const size_t want = (grown + kHugePage - 1) & ~(kHugePage - 1);
    if (::fallocate(fd, 0, 0, static_cast<off_t>(want)) != 0) {
      unmappable_ = true;
      return false;
    }
    length = want;
  }
  mapping_ = MapMessageFile(fd, length);  // All of it, for the next writes.
  if (mapping_ == nullptr || !mapping_->writable()) {
    mapping_.reset();
    unmappable_ = true;
    return false;
  }
  return true;
}

void CopyInParallel(char* to, const char* from, size_t size) {
  if (size < kParallelCopyBytes || !ManyCpus()) {
    std::memcpy(to, from, size);
    return;
  }
  // The halves meet at a page boundary of the destination, so that the two
  // threads never write one page.
  const uintptr_t middle =
      (reinterpret_cast<uintptr_t>(to) + size / 2) & ~(kPage - 1);
  const size_t first = middle - reinterpret_cast<uintptr_t>(to);
  RunBeside([=] { std::memcpy(to + first, from + first, size - first); },
            [=] { std::memcpy(to, from, first); });
}

void FillWithPrefault(char* data, size_t size, absl::FunctionRef<void()> fill) {
  // Whether the kernel has MADV_POPULATE_WRITE (Linux 5.14).
  static std::atomic<bool> can_populate{true};
  if (size < kParallelCopyBytes || !ManyCpus() ||
      !can_populate.load(std::memory_order_relaxed)) {
    fill();
    return;
  }
  const uintptr_t begin =
      (reinterpret_cast<uintptr_t>(data) + size / 2) & ~(kHugePage - 1);
  const uintptr_t end =
      (reinterpret_cast<uintptr_t>(data) + size) & ~(kPage - 1);
  auto populate = [begin, end] {
    if (::madvise(reinterpret_cast<void*>(begin), end - begin,
                  MADV_POPULATE_WRITE) != 0 &&
        errno == EINVAL) {
      can_populate.store(false, std::memory_order_relaxed);
    }
  };
  RunBeside(populate, fill);
}

void MessageStreamBuf::Write(const char* bytes, size_t size) {
  if (Mapped(out_->file_size_ + size)) {
    CopyInParallel(mapping_->data() + out_->file_size_, bytes, size);
    out_->file_size_ += size;
    return;
  }
  // At explicit offsets: a reused file's offset is shared with the process
  // that wrote it before.
  while (size > 0) {
    const ssize_t n = ::pwrite(out_->file_.get(), bytes, size,
                               static_cast<off_t>(out_->file_size_));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw cereal::Exception(
          absl::StrCat("cannot write a large message to shared memory: ",
                       std::strerror(errno)));
    }
    bytes += n;
    size -= static_cast<size_t>(n);
    out_->file_size_ += static_cast<size_t>(n);
  }
}

void MessageStreamBuf::WriteBuffered() {
  Write(out_->bytes_.data(), out_->bytes_.size());
  out_->bytes_.clear();
}

void MessageStreamBuf::Finish() {
  if (!out_->file_.valid()) return;
  WriteBuffered();
  out_->bytes_ = std::string();
}

namespace {

// The stream StreamOver reuses on this thread, and whether it is in use.
thread_local std::ostream reused_stream(nullptr);
thread_local bool reused_stream_busy = false;

}  // namespace

StreamOver::StreamOver(std::streambuf* buffer) : reused_(!reused_stream_busy) {
  if (reused_) {
    reused_stream_busy = true;
    reused_stream.rdbuf(buffer);  // Also clears what a failure left.
    stream_ = &reused_stream;
  } else {
    stream_ = new std::ostream(buffer);
  }
}

StreamOver::~StreamOver() {
  if (reused_) {
    reused_stream.rdbuf(nullptr);
    reused_stream_busy = false;
  } else {
    delete stream_;
  }
}

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
