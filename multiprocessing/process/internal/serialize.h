// Serialization of values that cross a process boundary: cereal's binary
// archives (any type with a cereal `serialize`, or `save`/`load`, crosses),
// plus the file descriptors that Connections and Queues carry with them.
//
// This is pyconc's pickle. A Connection or a Queue inside a Process's arguments
// travels as a descriptor index into the message's FdTable; the descriptors
// themselves travel beside the bytes (SCM_RIGHTS over the fork server's
// socket), as Python's forkserver passes them.
//
// Decoding trusts nothing: bytes that do not hold the requested values (cut
// short, a length that claims more than is there, a bool that is neither 0 nor
// 1) are a cereal::Exception, which Decode() answers as
// pickle.UnpicklingError, and never allocate more than a small multiple of
// the bytes given.
//
// Thread-safety: the functions are thread-safe; the descriptor table in use is
// per thread (set by FdScope for the duration of one Serialize/Deserialize).
// Fork-safety: nothing here forks.

#ifndef PYCONC_MULTIPROCESSING_PROCESS_INTERNAL_SERIALIZE_H_
#define PYCONC_MULTIPROCESSING_PROCESS_INTERNAL_SERIALIZE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/errors.h"
#include "cereal/archives/binary.hpp"
#include "multiprocessing/process/internal/io.h"
// The standard types cross without further includes, as Python's built-in
// types pickle.
#include "cereal/types/array.hpp"
#include "cereal/types/chrono.hpp"
#include "cereal/types/deque.hpp"
#include "cereal/types/map.hpp"
#include "cereal/types/optional.hpp"
#include "cereal/types/set.hpp"
#include "cereal/types/string.hpp"
#include "cereal/types/tuple.hpp"
#include "cereal/types/unordered_map.hpp"
#include "cereal/types/unordered_set.hpp"
#include "cereal/types/utility.hpp"
#include "cereal/types/variant.hpp"
#include "cereal/types/vector.hpp"

namespace pyconc::multiprocessing::internal {

// An owned file descriptor, closed when destroyed (-1 holds nothing).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership without closing.
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes what it holds and takes `fd`.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// The descriptors that travel with one message.
struct FdTable {
  std::vector<UniqueFd> fds;
};

// Makes `table` the current thread's descriptor table until destroyed; null
// means "this message cannot carry descriptors".
class FdScope {
 public:
  explicit FdScope(FdTable* table);
  FdScope(const FdScope&) = delete;
  FdScope& operator=(const FdScope&) = delete;
  ~FdScope();

 private:
  FdTable* previous_;
};

// While serializing: duplicates `fd` into the current table and returns its
// index. Throws cereal::Exception when there is no table (a Connection or Queue
// sent through a Connection or Queue, which pyconc does not support), and
// FdExportError when the process has no descriptor left for the copy.
int ExportFd(int fd);

// What ExportFd() throws when the kernel refuses the copy: carries the errno
// out of cereal, so that the caller answers an OSError, not a PicklingError.
class FdExportError : public cereal::Exception {
 public:
  FdExportError(int error, int fd);
  int error() const { return error_; }

 private:
  int error_;
};
// While deserializing: takes the descriptor at `index` out of the current
// table. Throws cereal::Exception for an index that is not there.
UniqueFd ImportFd(int index);

// A huge page (x86-64 and arm64 with 4 KiB pages), and the size from which
// a buffer about to be written whole asks for them.
inline constexpr size_t kHugePage = size_t{2} << 20;
inline constexpr size_t kHugeBytes = size_t{4} << 20;

// Asks the kernel to back the huge pages inside [data, data + size) with huge
// pages when first touched: a 64 MiB value then costs 32 page faults instead
// of 16,384 (most of the time its copy would otherwise take). A hint: where
// transparent huge pages are off it changes nothing.
void AdviseHugePages(void* data, size_t size);

// Makes room for `count` elements of `container` (a string or a vector of
// numbers about to be filled whole), on huge pages when large.
template <typename Container>
void ReserveForFill(Container& container, size_t count) {
  using Element = typename Container::value_type;
  if (count * sizeof(Element) < kHugeBytes || container.capacity() >= count) {
    return;
  }
  container.reserve(count);
  AdviseHugePages(container.data() + container.size(),
                  (container.capacity() - container.size()) * sizeof(Element));
}

// A write-only streambuf appending to a string: no copy at the end, as
// std::ostringstream::str() makes.
class StringStreamBuf : public std::streambuf {
 public:
  explicit StringStreamBuf(std::string* out) : out_(out) {}

 protected:
  std::streamsize xsputn(const char* bytes, std::streamsize n) override {
    ReserveForFill(*out_, out_->size() + static_cast<size_t>(n));
    out_->append(bytes, static_cast<size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      out_->push_back(traits_type::to_char_type(c));
    }
    return c;
  }

 private:
  std::string* out_;
};

// Serialized bytes on their way to another process: in memory while small;
// past kSpillBytes in an anonymous shared file (a memfd sealed against
// shrinking) that crosses as a descriptor, so that each side copies the bytes
// once where a socket copies them twice more into a buffer the reader must
// also fill. The file may be longer than the message.
class Message {
 public:
  Message() = default;
  explicit Message(std::string bytes) : bytes_(std::move(bytes)) {}

  // The bytes when they are in memory (empty when in a file).
  std::string_view bytes() const { return bytes_; }
  // The sealed shared file holding the bytes, or -1.
  int fd() const { return file_.get(); }
  // How many bytes the message holds (in memory or in the file).
  size_t size() const { return file_.valid() ? file_size_ : bytes_.size(); }

 private:
  friend class MessageStreamBuf;
  std::string bytes_;  // The message, or before the file's bytes.
  UniqueFd file_;
  size_t file_size_ = 0;
};

inline constexpr size_t kSpillBytes = size_t{1} << 20;

// Message files are reused: writing a file's pages again costs only the copy,
// where a new file allocates and frees every page. A file belongs to one
// process at a time: the sender gives it up when it sends it (and only
// closes it), the receiver offers it here once it has read the message. A
// few files of at most 256 MiB are kept (so a process keeps up to 512 MiB of
// shared memory after its largest messages, and the mappings it keeps, see
// MapMessageFile, up to 512 MiB more of files it gave up); the others are
// closed. Written and read through those kept mappings.
void OfferMessageFile(UniqueFd file);
// A file offered before, or a new memfd sealed against shrinking; invalid
// when the process cannot make one.
UniqueFd TakeMessageFile();

// Copies `size` bytes from `from` to `to` as memcpy does; from
// kParallelCopyBytes on, on two threads when the machine has more than one
// CPU (when no thread can be started, on one). One core copies 64 MiB into a
// message file's mapping in 11-14 ms here, two in 6.5-7.5. For memory already
// mapped: two threads taking page faults in one process slow each other down.
inline constexpr size_t kParallelCopyBytes = size_t{8} << 20;
void CopyInParallel(char* to, const char* from, size_t size);

// Runs `fill`, which writes [data, data + size) front to back into memory not
// touched yet, while from kParallelCopyBytes on another thread faults in the
// back half's pages (MADV_POPULATE_WRITE) before the writes reach them: the
// kernel zeroes those pages on the other CPU. A 64 MiB string decoded from a
// message file takes 14 ms instead of 18.5 here. The pages keep what `fill`
// wrote whichever thread faults them in first.
void FillWithPrefault(char* data, size_t size, absl::FunctionRef<void()> fill);

// A write-only streambuf filling a Message: in memory up to kSpillBytes, then
// in a memfd (in memory still when the process cannot make one). Finish()
// writes what is buffered. Throws cereal::Exception when
// the file cannot be written (a full tmpfs or memory cgroup).
class MessageStreamBuf : public std::streambuf {
 public:
  explicit MessageStreamBuf(Message* out) : out_(out) {}
  void Finish();

 protected:
  std::streamsize xsputn(const char* bytes, std::streamsize n) override;
  int_type overflow(int_type c) override;

 private:
  // Writes to the file, from `bytes` or what is buffered: through the
  // file's kept mapping (see MapMessageFile), else with pwrite().
  void Write(const char* bytes, size_t size);
  void WriteBuffered();
  // Whether the file is mapped for writing up to `end`, which it grows to
  // (allocating its memory first, so that a full memory cgroup is an error
  // here, not a SIGBUS later).
  bool Mapped(size_t end);

  Message* out_;
  bool memory_only_ = false;  // No memfd could be made.
  std::shared_ptr<const FileMapping> mapping_;
  bool unmappable_ = false;  // Written with pwrite() instead.
};

// The reading side of cereal's BinaryOutputArchive, for bytes that may come
// from anywhere: every read is checked against what is left, a length prefix
// may not claim more elements than bytes remain (so a hostile 9-byte message
// cannot make it allocate gigabytes), and a bool must be 0 or 1. A violation
// throws cereal::Exception. (So a sequence of values that serialize to no
// bytes at all, such as a std::vector of empty structs, does not cross.)
class InputArchive
    : public cereal::InputArchive<InputArchive,
                                  cereal::AllowEmptyClassElision> {
 public:
  explicit InputArchive(std::string_view bytes)
      : cereal::InputArchive<InputArchive, cereal::AllowEmptyClassElision>(
            this),
        rest_(bytes) {}

  // Copies the next `size` bytes to `data`.
  void LoadBytes(void* data, size_t size) {
    if (size > 0) std::memcpy(data, TakeBytes(size).data(), size);
  }
  // The next `size` bytes, in place (valid as long as the bytes given).
  std::string_view TakeBytes(size_t size) {
    if (size > rest_.size()) {
      throw cereal::Exception(absl::StrCat(
          "a value needs ", size, " bytes, only ", rest_.size(), " are left"));
    }
    const std::string_view taken = rest_.substr(0, size);
    rest_.remove_prefix(size);
    return taken;
  }
  // Bytes not yet read.
  size_t remaining() const { return rest_.size(); }

 private:
  std::string_view rest_;
};

template <typename T>
requires(std::is_arithmetic_v<T> &&
         !std::is_same_v<T, bool>) void CEREAL_LOAD_FUNCTION_NAME(InputArchive&
                                                                      archive,
                                                                  T& value) {
  archive.LoadBytes(std::addressof(value), sizeof(value));
}

inline void CEREAL_LOAD_FUNCTION_NAME(InputArchive& archive, bool& value) {
  uint8_t byte = 0;
  archive.LoadBytes(&byte, 1);
  if (byte > 1) {
    throw cereal::Exception(absl::StrCat("a bool cannot be ", byte));
  }
  value = byte == 1;
}

template <typename T>
void CEREAL_SERIALIZE_FUNCTION_NAME(InputArchive& archive,
                                    cereal::NameValuePair<T>& pair) {
  archive(pair.value);
}

template <typename T>
void CEREAL_LOAD_FUNCTION_NAME(InputArchive& archive, cereal::SizeTag<T>& tag) {
  archive(tag.size);
  // Every element of a sequence takes at least one byte.
  if (static_cast<uint64_t>(tag.size) > archive.remaining()) {
    throw cereal::Exception(absl::StrCat("a length of ", tag.size,
                                         " with only ", archive.remaining(),
                                         " bytes left"));
  }
}

template <typename T>
void CEREAL_LOAD_FUNCTION_NAME(InputArchive& archive,
                               cereal::BinaryData<T>& data) {
  archive.LoadBytes(data.data, static_cast<size_t>(data.size));
}

// Strings and vectors of numbers, read whole as cereal does, but on huge pages
// when large (and byte strings copied once).
template <typename Char, typename Traits, typename Alloc>
requires std::is_arithmetic_v<Char>
void CEREAL_LOAD_FUNCTION_NAME(InputArchive& archive,
                               std::basic_string<Char, Traits, Alloc>& str) {
  cereal::size_type size = 0;
  archive(cereal::make_size_tag(size));
  const size_t count = static_cast<size_t>(size);
  str.clear();
  ReserveForFill(str, count);
  if constexpr (sizeof(Char) == 1) {
    // Copied once, without resize()'s zeroing first.
    const Char* bytes =
        reinterpret_cast<const Char*>(archive.TakeBytes(count).data());
    FillWithPrefault(reinterpret_cast<char*>(str.data()), count,
                     [&] { str.assign(bytes, count); });
  } else {
    str.resize(count);
    archive.LoadBytes(str.data(), count * sizeof(Char));
  }
}

template <typename T, typename Alloc>
requires(
    std::is_arithmetic_v<T> &&
    !std::is_same_v<
        T, bool>) void CEREAL_LOAD_FUNCTION_NAME(InputArchive& archive,
                                                 std::vector<T, Alloc>& vec) {
  cereal::size_type size = 0;
  archive(cereal::make_size_tag(size));
  vec.clear();
  ReserveForFill(vec, static_cast<size_t>(size));
  vec.resize(static_cast<size_t>(size));
  archive.LoadBytes(vec.data(), static_cast<size_t>(size) * sizeof(T));
}

// A std::ostream writing to `buffer` while it lives: this thread's reused
// stream (building a std::ostream, with its locale and facets, costs more
// than a small message's bytes), or a new one when a serialization runs
// inside another.
class StreamOver {
 public:
  explicit StreamOver(std::streambuf* buffer);
  StreamOver(const StreamOver&) = delete;
  StreamOver& operator=(const StreamOver&) = delete;
  ~StreamOver();

  std::ostream& stream() { return *stream_; }

 private:
  std::ostream* stream_;
  bool reused_;
};

// The bytes of `values`, in order; descriptors they export go to `fds`.
template <typename... T>
std::string Serialize(FdTable* fds, const T&... values) {
  std::string bytes;
  if constexpr (sizeof...(T) > 0) {
    StringStreamBuf buffer(&bytes);
    StreamOver out(&buffer);
    FdScope scope(fds);
    cereal::BinaryOutputArchive archive(out.stream());
    archive(values...);
  }
  return bytes;
}

// The Message of `values` (which export no descriptors), for a process pool's
// calls and results.
template <typename... T>
Message SerializeMessage(const T&... values) {
  Message message;
  if constexpr (sizeof...(T) > 0) {
    MessageStreamBuf buffer(&message);
    {
      StreamOver out(&buffer);
      FdScope scope(nullptr);
      cereal::BinaryOutputArchive archive(out.stream());
      archive(values...);
    }
    buffer.Finish();
  }
  return message;
}

// Reads `values` back from `bytes`, taking descriptors from `fds`. Throws
// cereal::Exception when the bytes do not hold them (never allocates more
// than a small multiple of bytes.size()).
template <typename... T>
void Deserialize(std::string_view bytes, FdTable* fds, T&... values) {
  FdScope scope(fds);
  InputArchive archive(bytes);
  if constexpr (sizeof...(T) > 0) archive(values...);
}

// Python's pickle.PicklingError: a value that cannot be serialized (a
// Connection inside a message, a `save` that throws). Submit() fails the
// call's Future with it, as Python's submit() does.
class PicklingError : public std::runtime_error {
 public:
  explicit PicklingError(const std::string& what)
      : std::runtime_error("pickle.PicklingError: " + what) {}
};

// The status for what Serialize() threw: an OSError with the errno's text for
// FdExportError (no descriptor left), else pickle.PicklingError
// (kInvalidArgument).
absl::Status SerializeError(const std::exception& e);

// Serialize() for one value that travels without descriptors, with a failure
// as Python's pickle.PicklingError (kInvalidArgument).
template <typename T>
absl::StatusOr<std::string> Encode(const T& value) {
  try {
    return Serialize(nullptr, value);
  } catch (const std::exception& e) {
    return SerializeError(e);
  }
}

// Deserialize() for one value, with a failure as pickle.UnpicklingError
// (kDataLoss).
template <typename T>
absl::StatusOr<T> Decode(std::string_view bytes) {
  T value{};
  try {
    Deserialize(bytes, nullptr, value);
  } catch (const std::exception& e) {
    return MakeError(PythonError::kUnpicklingError, e.what());
  }
  return value;
}

}  // namespace pyconc::multiprocessing::internal

// InputArchive reads what BinaryOutputArchive writes (cereal needs the pair
// for types that save and load minimal values). The output archive stays
// paired with cereal's own BinaryInputArchive.
namespace cereal::traits::detail {
template <>
struct get_output_from_input<pyconc::multiprocessing::internal::InputArchive> {
  using type = cereal::BinaryOutputArchive;
};
}  // namespace cereal::traits::detail

#endif  // PYCONC_MULTIPROCESSING_PROCESS_INTERNAL_SERIALIZE_H_
