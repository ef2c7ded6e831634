// Serialization of values that cross a process boundary: cereal's binary
// archives (any type with a cereal `serialize`, or `save`/`load`, crosses),
// plus the file descriptors that Connections and Queues carry with them.
//
// This is pyconc's pickle. A Connection or a Queue inside a Process's arguments
// travels as a descriptor index into the message's FdTable; the descriptors
// themselves travel beside the bytes (SCM_RIGHTS over the fork server's
// socket), as Python's forkserver passes them.
//
// Thread-safety: the functions are thread-safe; the descriptor table in use is
// per thread (set by FdScope for the duration of one Serialize/Deserialize).
// Fork-safety: nothing here forks.

#ifndef PYCONC_MULTIPROCESSING_PROCESS_SERIALIZE_H_
#define PYCONC_MULTIPROCESSING_PROCESS_SERIALIZE_H_

#include <cstddef>
#include <exception>
#include <istream>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "cereal/archives/binary.hpp"
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
// sent through a Connection or Queue, which pyconc does not support).
int ExportFd(int fd);
// While deserializing: takes the descriptor at `index` out of the current
// table. Throws cereal::Exception for an index that is not there.
UniqueFd ImportFd(int index);

// A read-only streambuf over bytes it does not own, so that deserializing
// copies nothing.
class ViewStreamBuf : public std::streambuf {
 public:
  explicit ViewStreamBuf(std::string_view bytes) {
    char* begin = const_cast<char*>(bytes.data());
    setg(begin, begin, begin + bytes.size());
  }
};

// A write-only streambuf appending to a string: no copy at the end, as
// std::ostringstream::str() makes.
class StringStreamBuf : public std::streambuf {
 public:
  explicit StringStreamBuf(std::string* out) : out_(out) {}

 protected:
  std::streamsize xsputn(const char* bytes, std::streamsize n) override {
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

// The bytes of `values`, in order; descriptors they export go to `fds`.
template <typename... T>
std::string Serialize(FdTable* fds, const T&... values) {
  std::string bytes;
  StringStreamBuf buffer(&bytes);
  std::ostream out(&buffer);
  FdScope scope(fds);
  {
    cereal::BinaryOutputArchive archive(out);
    archive(values...);
  }
  return bytes;
}

// Reads `values` back from `bytes`, taking descriptors from `fds`. Throws
// cereal::Exception when the bytes do not hold them.
template <typename... T>
void Deserialize(std::string_view bytes, FdTable* fds, T&... values) {
  ViewStreamBuf buffer(bytes);
  std::istream in(&buffer);
  FdScope scope(fds);
  cereal::BinaryInputArchive archive(in);
  archive(values...);
}

// Serialize() for one value that travels without descriptors, with a failure
// as Python's pickle.PicklingError (kInvalidArgument).
template <typename T>
absl::StatusOr<std::string> Encode(const T& value) {
  try {
    return Serialize(nullptr, value);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("pickle.PicklingError: ", e.what()));
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
    return absl::DataLossError(
        absl::StrCat("pickle.UnpicklingError: ", e.what()));
  }
  return value;
}

}  // namespace pyconc::multiprocessing::internal

#endif  // PYCONC_MULTIPROCESSING_PROCESS_SERIALIZE_H_
