// Value<T> and Array<T>: Python's multiprocessing.Value and Array for C++, a
// value or a fixed-size array in shared memory, with a lock.
//
//   Python                             pyconc
//   counter = Value('i', 0)            Value<int32_t> counter(0);
//   counter.value                      counter.value()
//   counter.value = 5                  counter.set_value(5);
//   with counter.get_lock(): ...       { sync::Guard g(counter.GetLock()); }
//   Value('d', 1.5, lock=False)        Value<double> raw(1.5, {.lock = false});
//   arr = Array('i', 10)               Array<int32_t> arr(10);
//   arr = Array('i', [1, 2, 3])        Array<int32_t> arr({1, 2, 3});
//   arr[i]; arr[i] = x                 arr.Get(i); arr.Set(i, x);
//   arr[:]; len(arr)                   arr.ToVector(); arr.size();
//   arr.get_obj()                      arr.GetObj() (a std::span<T>)
//
// T is any trivially copyable type (Python's ctypes types): its bytes are what
// the processes share. Give a Value or an Array to a Process as an argument
// and the child's copy is the same memory (and the same lock), as in Python;
// copies within one process are the same too (a handle). Like Python's, they
// cross only as Process arguments, not through a Queue or a Connection.
//
// The lock: with {.lock = true}, the default, the object has its own
// multiprocessing RLock (Python's default), which value(), set_value(), Get(),
// Set() and ToVector() each take. That makes each access whole, not a
// sequence of them: `v.set_value(v.value() + 1)` can still lose an update
// between the two calls; hold GetLock() around the read-modify-write. With
// {.lock = false} there is no lock; GetLock() is then misuse (Python's
// AttributeError). Accesses of a T that fits a lock-free atomic are relaxed
// atomic loads and stores, so a race between unlocked accesses loses updates
// but never tears a value nor is undefined behaviour; larger T are copied
// byte by byte and must be locked by the caller.
//
// Lifetime: each handle keeps the shared memory mapped; it is gone once no
// handle in any process is left. A span from GetObj() is valid while the
// handle it came from lives. As for any C++ object, a handle may not be
// destroyed while another thread is inside a call on it: give each thread a
// copy.
//
// Thread-safety: as the lock makes it (see above); GetObj() is raw memory.
// Fork-safety: nothing here forks.

#ifndef PYCONC_MULTIPROCESSING_SHARED_SHAREDCTYPES_H_
#define PYCONC_MULTIPROCESSING_SHARED_SHAREDCTYPES_H_

#include <atomic>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "absl/types/span.h"
#include "base/misuse.h"
#include "cereal/types/optional.hpp"
#include "multiprocessing/process/process.h"
#include "multiprocessing/shared/internal/segment.h"
#include "multiprocessing/shared/synchronize.h"
#include "sync/lock/lock.h"

namespace pyconc::multiprocessing {

// The keyword argument of Python's Value(..., lock=True) and Array.
struct SharedOptions {
  // Whether the object has its own RLock that each access takes.
  bool lock = true;
};

namespace internal {

// Loads and stores of one T in shared memory: relaxed atomic when T fits a
// lock-free atomic at its alignment, byte copies otherwise.
template <typename T>
constexpr bool kAtomicAccess =
    std::atomic_ref<T>::is_always_lock_free &&
    alignof(T) >= std::atomic_ref<T>::required_alignment;

template <typename T>
T LoadShared(T* place) {
  if constexpr (kAtomicAccess<T>) {
    return std::atomic_ref<T>(*place).load(std::memory_order_relaxed);
  } else {
    T value;
    std::memcpy(&value, place, sizeof(T));
    return value;
  }
}

template <typename T>
void StoreShared(T* place, const T& value) {
  if constexpr (kAtomicAccess<T>) {
    std::atomic_ref<T>(*place).store(value, std::memory_order_relaxed);
  } else {
    std::memcpy(place, &value, sizeof(T));
  }
}

// What Value and Array share: `count` T in a segment, and the optional lock.
template <typename T>
class SharedArray {
 public:
  static_assert(std::is_trivially_copyable_v<T>,
                "shared values must be trivially copyable (Python's ctypes)");
  static_assert(alignof(T) <= 4096, "a segment is page-aligned");

  SharedArray(size_t count, SharedOptions options)
      : segment_(Segment::Create(count * sizeof(T) + 1)),
        size_(count),
        data_(static_cast<T*>(segment_->data())) {
    if (options.lock) lock_.emplace();
    for (size_t i = 0; i < count; ++i) new (data_ + i) T();
  }
  explicit SharedArray(LoadTag) {}

  size_t size() const { return size_; }
  T* data() const { return data_; }
  RLock& GetLock() {
    if (!lock_.has_value()) {
      pyconc::internal::Misuse(
          "AttributeError",
          "a Value or Array made with {.lock = false} has no get_lock");
    }
    return *lock_;
  }
  // Runs `access` under the lock, if there is one.
  template <typename F>
  auto Locked(F access) {
    if (!lock_.has_value()) return access();
    sync::Guard<RLock> guard(*lock_);
    return access();
  }

  template <typename Archive>
  void save(Archive& archive) const {
    segment_->Save(archive);
    archive(static_cast<uint64_t>(size_), lock_.has_value());
    if (lock_.has_value()) archive(*lock_);
  }
  template <typename Archive>
  void load(Archive& archive) {
    segment_ = Segment::Load(archive);
    uint64_t size = 0;
    bool locked = false;
    archive(size, locked);
    if (size > segment_->size() / sizeof(T)) {
      throw cereal::Exception("a shared array is larger than its segment");
    }
    size_ = size;
    data_ = static_cast<T*>(segment_->data());
    if (locked) {
      lock_.emplace(LoadTag{});
      archive(*lock_);
    }
  }

 private:
  std::shared_ptr<const Segment> segment_;
  size_t size_ = 0;
  T* data_ = nullptr;
  std::optional<RLock> lock_;
};

}  // namespace internal

// Python's multiprocessing.Value. See the top of this file.
template <typename T>
class Value {
 public:
  // Python's Value(typecode, initial, lock=True).
  explicit Value(T initial = T(), SharedOptions options = {})
      : array_(1, options) {
    internal::StoreShared(array_.data(), initial);
  }
  // For cereal: a Value about to be loaded.
  explicit Value(internal::LoadTag tag) : array_(tag) {}

  // Python's .value: the value now (under the lock, if any).
  T value() {
    return array_.Locked([&] { return internal::LoadShared(array_.data()); });
  }
  // Python's `.value = x` (under the lock, if any).
  void set_value(const T& value) {
    array_.Locked([&] { internal::StoreShared(array_.data(), value); });
  }
  // Python's get_lock(): the RLock that guards the value.
  RLock& GetLock() { return array_.GetLock(); }
  // Python's get_obj(): the shared T itself, unguarded.
  T& GetObj() { return *array_.data(); }

  template <typename Archive>
  void serialize(Archive& archive) {
    archive(array_);
  }

 private:
  internal::SharedArray<T> array_;
};

// Python's multiprocessing.Array. See the top of this file. An index out of
// range is misuse (Python's IndexError).
template <typename T>
class Array {
 public:
  // Python's Array(typecode, size): `size` zero-initialized elements.
  explicit Array(size_t size, SharedOptions options = {})
      : array_(size, options) {}
  // Python's Array(typecode, initializer): a copy of `initial` (a vector, an
  // array or a braced list of at least two elements).
  explicit Array(absl::Span<const T> initial, SharedOptions options = {})
      : array_(initial.size(), options) {
    for (size_t i = 0; i < initial.size(); ++i) {
      internal::StoreShared(array_.data() + i, initial[i]);
    }
  }
  // For cereal: an Array about to be loaded.
  explicit Array(internal::LoadTag tag) : array_(tag) {}

  // Python's len(arr).
  size_t size() const { return array_.size(); }
  // Python's arr[i] and arr[i] = x (each under the lock, if any).
  T Get(size_t i) {
    CheckIndex(i);
    return array_.Locked(
        [&] { return internal::LoadShared(array_.data() + i); });
  }
  void Set(size_t i, const T& value) {
    CheckIndex(i);
    array_.Locked([&] { internal::StoreShared(array_.data() + i, value); });
  }
  // Python's arr[:]: every element, read under the lock at once.
  std::vector<T> ToVector() {
    return array_.Locked([&] {
      std::vector<T> values;
      values.reserve(size());
      for (size_t i = 0; i < size(); ++i) {
        values.push_back(internal::LoadShared(array_.data() + i));
      }
      return values;
    });
  }
  // Python's get_lock().
  RLock& GetLock() { return array_.GetLock(); }
  // Python's get_obj(): the shared elements themselves, unguarded.
  std::span<T> GetObj() { return {array_.data(), size()}; }

  template <typename Archive>
  void serialize(Archive& archive) {
    archive(array_);
  }

 private:
  void CheckIndex(size_t i) const {
    if (i >= size()) pyconc::internal::Misuse("IndexError", "invalid index");
  }

  internal::SharedArray<T> array_;
};

}  // namespace pyconc::multiprocessing

#endif  // PYCONC_MULTIPROCESSING_SHARED_SHAREDCTYPES_H_
