#include "multiprocessing/process/internal/io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "multiprocessing/process/internal/serialize.h"

namespace pyconc::multiprocessing::internal {
namespace {

bool WaitFor(int fd, short events, absl::Time deadline) {
  while (true) {
    timespec remaining;
    timespec* timeout = nullptr;
    if (deadline != absl::InfiniteFuture()) {
      remaining = absl::ToTimespec(
          std::max(deadline - absl::Now(), absl::ZeroDuration()));
      timeout = &remaining;
    }
    pollfd entry = {.fd = fd, .events = events, .revents = 0};
    const int ready = ::ppoll(&entry, 1, timeout, nullptr);
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return true;  // Let the read or write report it.
  }
}

}  // namespace

bool WriteAll(int fd, const void* data, size_t size) {
  const char* next = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::send(fd, next, size, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    next += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool WriteAll(int fd, const void* first, size_t first_size, const void* second,
              size_t second_size) {
  iovec parts[2] = {{const_cast<void*>(first), first_size},
                    {const_cast<void*>(second), second_size}};
  msghdr message = {};
  message.msg_iov = parts;
  message.msg_iovlen = 2;
  ssize_t n;
  do {
    n = ::sendmsg(fd, &message, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return false;
  // The kernel took part of it (a large message): write the rest in order.
  size_t done = static_cast<size_t>(n);
  if (done < first_size) {
    return WriteAll(fd, static_cast<const char*>(first) + done,
                    first_size - done) &&
           WriteAll(fd, second, second_size);
  }
  done -= first_size;
  return WriteAll(fd, static_cast<const char*>(second) + done,
                  second_size - done);
}

bool ReadAll(int fd, void* data, size_t size) {
  char* next = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::read(fd, next, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = 0;
      return false;
    }
    next += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool ReadGrowing(int fd, uint64_t size, std::string* out) {
  constexpr uint64_t kStep = uint64_t{1} << 20;
  out->clear();
  while (out->size() < size) {
    const size_t done = out->size();
    const size_t step = static_cast<size_t>(std::min(size - done, kStep));
    out->resize(done + step);
    if (!ReadAll(fd, out->data() + done, step)) return false;
  }
  return true;
}

bool WaitReadable(int fd, absl::Time deadline) {
  return WaitFor(fd, POLLIN, deadline);
}

bool WaitWritable(int fd, absl::Time deadline) {
  return WaitFor(fd, POLLOUT, deadline);
}

namespace {

// The message file mappings this process keeps, most recently used last.
struct KeptMapping {
  dev_t device;
  ino_t inode;
  std::shared_ptr<const FileMapping> mapping;
};
constexpr size_t kKeptMappings = 4;
constexpr size_t kKeptMappingBytes = size_t{512} << 20;

struct KeptMappings {
  absl::Mutex mu;
  std::vector<KeptMapping> kept ABSL_GUARDED_BY(mu);
};

KeptMappings& Kept() {
  static KeptMappings* kept = new KeptMappings;
  return *kept;
}

}  // namespace

FileMapping::~FileMapping() { ::munmap(data_, size_); }

std::shared_ptr<const FileMapping> MapMessageFile(int fd, size_t size) {
  struct stat file;
  if (::fstat(fd, &file) != 0) return nullptr;
  if (static_cast<size_t>(file.st_size) < size || size == 0) {
    errno = EPROTO;
    return nullptr;
  }
  const size_t length = size;
  KeptMappings& kept = Kept();
  {
    absl::MutexLock lock(&kept.mu);
    for (auto it = kept.kept.begin(); it != kept.kept.end(); ++it) {
      if (it->device != file.st_dev || it->inode != file.st_ino) continue;
      if (it->mapping->size() >= size) {
        KeptMapping found = std::move(*it);
        kept.kept.erase(it);
        kept.kept.push_back(std::move(found));
        return kept.kept.back().mapping;
      }
      kept.kept.erase(it);  // Too short now: mapped again below.
      break;
    }
  }
  bool writable = true;
  void* data = ::mmap(nullptr, length, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_POPULATE, fd, 0);
  if (data == MAP_FAILED && errno == EACCES) {
    writable = false;
    data = ::mmap(nullptr, length, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
  }
  if (data == MAP_FAILED) return nullptr;
  auto mapping = std::make_shared<const FileMapping>(static_cast<char*>(data),
                                                     length, writable);
  if (!writable || length > kKeptMappingBytes) return mapping;
  absl::MutexLock lock(&kept.mu);
  kept.kept.push_back({file.st_dev, file.st_ino, mapping});
  size_t bytes = 0;
  for (const KeptMapping& k : kept.kept) bytes += k.mapping->size();
  while (kept.kept.size() > kKeptMappings || bytes > kKeptMappingBytes) {
    bytes -= kept.kept.front().mapping->size();
    kept.kept.erase(kept.kept.begin());
  }
  return mapping;
}

MappedBuffer::MappedBuffer(MappedBuffer&& other) noexcept
    : mapping_(std::exchange(other.mapping_, nullptr)),
      mapping_size_(std::exchange(other.mapping_size_, 0)),
      file_(std::move(other.file_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedBuffer& MappedBuffer::operator=(MappedBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_size_ = std::exchange(other.mapping_size_, 0);
    file_ = std::move(other.file_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

bool MappedBuffer::Reset(size_t size) {
  Release();
  if (size == 0) return true;
  // One huge page more, so that the data can start on a huge page boundary.
  if (size > SIZE_MAX - kHugePage) {
    errno = ENOMEM;
    return false;
  }
  const size_t mapping_size = size + kHugePage;
  void* mapping = ::mmap(nullptr, mapping_size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mapping == MAP_FAILED) return false;
  mapping_ = mapping;
  mapping_size_ = mapping_size;
  const uintptr_t start = reinterpret_cast<uintptr_t>(mapping);
  data_ = reinterpret_cast<char*>((start + kHugePage - 1) & ~(kHugePage - 1));
  size_ = size;
  AdviseHugePages(data_, size_);
  return true;
}

bool MappedBuffer::MapFile(int fd, size_t size) {
  Release();
  const int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0) return false;
  struct stat file;
  if ((seals & F_SEAL_SHRINK) == 0 || ::fstat(fd, &file) != 0 ||
      static_cast<uint64_t>(file.st_size) < size) {
    errno = EPROTO;
    return false;
  }
  if (size == 0) return true;
  file_ = MapMessageFile(fd, size);
  if (file_ == nullptr) return false;
  data_ = file_->data();
  size_ = size;
  return true;
}

void MappedBuffer::Release() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
  file_.reset();
  mapping_ = nullptr;
  mapping_size_ = 0;
  data_ = nullptr;
  size_ = 0;
}

}  // namespace pyconc::multiprocessing::internal
