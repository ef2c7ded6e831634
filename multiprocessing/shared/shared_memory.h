// SharedMemory: Python's multiprocessing.shared_memory.SharedMemory for C++, a
// named block of memory that any process can attach to by its name.
//
//   Python                               pyconc
//   SharedMemory(create=True, size=64)   SharedMemory::Create(64)
//   SharedMemory("x", True, 64)          SharedMemory::Create(64, "x")
//   SharedMemory(name="psm_1f2e")        SharedMemory::Attach("psm_1f2e")
//   shm.name, shm.size                   shm->name(), shm->size()
//   shm.buf                              shm->buf() (a std::span<std::byte>)
//   shm.close(); shm.unlink()            shm->Close(); shm->Unlink();
//
// Create() and Attach() answer absl::StatusOr<SharedMemory>.
//
// The block is a POSIX shared memory object (/dev/shm/<name>), as in Python on
// Linux: it exists until Unlink(), whatever happens to the processes that
// created or attached it, and each process unmaps its view with Close() (or
// by destroying its SharedMemory). Create() without a name picks a fresh
// "psm_" name, as Python does.
//
// Errors are values, with Python's exceptions: Create() of a name that exists
// is FileExistsError, Attach() or Unlink() of one that does not is
// FileNotFoundError, a size of 0 or an empty name to attach is ValueError,
// anything else the OSError for its errno.
//
// Give a SharedMemory to a Process (or send it through a Queue or Connection):
// its name travels and the receiver attaches, as Python pickles it by name.
// The receiver sees the same bytes; receiving a name nobody has (unlinked
// meanwhile) fails to deserialize, in the child as Python's FileNotFoundError.
//
// How it differs from Python: there is no resource tracker, so a block that
// nobody unlinks stays in /dev/shm after the program ends (Python 3.13's
// track=False); and buf() is empty after Close() (Python's buf becomes None).
//
// Thread-safety: buf()'s bytes are plain memory, shared with other processes:
// synchronize access to them (with a multiprocessing Lock, say). The members
// are thread-compatible: Close() must not race with other calls on the same
// object. Fork-safety: nothing here forks.

#ifndef PYCONC_MULTIPROCESSING_SHARED_SHARED_MEMORY_H_
#define PYCONC_MULTIPROCESSING_SHARED_SHARED_MEMORY_H_

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "multiprocessing/process/process.h"

namespace pyconc::multiprocessing {

class SharedMemory {
 public:
  // Python's SharedMemory(name, create=True, size): a new zero-filled block of
  // `size` bytes named `name` (a fresh "psm_..." name when empty).
  static absl::StatusOr<SharedMemory> Create(size_t size,
                                             std::string_view name = {});
  // Python's SharedMemory(name): the existing block `name`, all of it.
  static absl::StatusOr<SharedMemory> Attach(std::string_view name);

  // A closed SharedMemory with no name, which load() (cereal) attaches.
  SharedMemory() = default;
  SharedMemory(SharedMemory&& other) noexcept
      : name_(std::move(other.name_)),
        data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)) {}
  SharedMemory& operator=(SharedMemory&& other) noexcept;
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  // Python's __del__: Close().
  ~SharedMemory() { Close(); }

  // The name other processes attach with (no leading slash, as Python's).
  const std::string& name() const { return name_; }
  // The block's size in bytes.
  size_t size() const { return size_; }
  // The block's bytes in this process; empty after Close().
  std::span<std::byte> buf() const {
    return {static_cast<std::byte*>(data_), data_ == nullptr ? 0 : size_};
  }

  // Python's close(): this process's view is unmapped; the block stays.
  // Closing twice is harmless.
  void Close();
  // Python's unlink(): removes the name, so the block is freed once every
  // process has closed it. FileNotFoundError when it is gone already.
  absl::Status Unlink();

  template <typename Archive>
  void save(Archive& archive) const {
    archive(name_);
  }
  // Attaches to the name read; throws cereal::Exception with the error's
  // message when that fails.
  template <typename Archive>
  void load(Archive& archive) {
    std::string name;
    archive(name);
    LoadName(name);
  }

 private:
  SharedMemory(std::string name, void* data, size_t size)
      : name_(std::move(name)), data_(data), size_(size) {}
  void LoadName(std::string_view name);

  std::string name_;
  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace pyconc::multiprocessing

#endif  // PYCONC_MULTIPROCESSING_SHARED_SHARED_MEMORY_H_
