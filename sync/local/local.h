// Local<T>: Python's threading.local, a value of which every thread has its own
// copy.
//
// clang-format off
//   Python                          pyconc
//   data = threading.local()        sync::Local<Data> data;
//   data.x = 1; print(data.x)       data->x = 1; print(data->x);
//   class L(local):                 sync::Local<Data> data(
//       def __init__(s): ...            [] { return Data{...}; });
// clang-format on
//
// Each thread that touches a Local gets its own T, made on first use by the
// initializer (default construction when none is given), as Python runs a local
// subclass's __init__ once per thread. A thread's value is destroyed when that
// thread exits, and every value when the Local is destroyed. A pyconc Thread's
// values are destroyed before its Join() returns, as in Python; other threads'
// (std::thread, main) at their exit. Unlike C++'s
// `thread_local`, which makes one slot per variable, a Local is an object: each
// instance, including members of other objects, has its own per-thread values.
//
// Thread-safety: Get() may be called from any thread and returns that thread's
// value, which only that thread should use. The initializer may run on several
// threads at once. A reference from Get() stays valid until the thread exits or
// the Local is destroyed, whichever comes first.

#ifndef PYCONC_SYNC_LOCAL_LOCAL_H_
#define PYCONC_SYNC_LOCAL_LOCAL_H_

#include <concepts>
#include <functional>
#include <memory>
#include <thread>
#include <unordered_map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace pyconc::sync {

namespace internal {

// The part of a Local that does not depend on T: it lets a thread's exit
// destroy that thread's value in every Local it used.
class LocalSlotsBase : public std::enable_shared_from_this<LocalSlotsBase> {
 public:
  virtual ~LocalSlotsBase() = default;
  // Destroys the value that `thread` has, if any.
  virtual void Forget(std::thread::id thread) = 0;

 protected:
  // Arranges for Forget(this thread) to run when the calling thread exits, or
  // at its DestroyThisThreadsLocals() call.
  void ForgetAtThreadExit();
};

// Destroys the calling thread's value in every Local now, rather than at the
// thread's exit; a Local it uses afterwards makes a new value. threading's
// Thread calls it when its target returns, before Join() can return.
void DestroyThisThreadsLocals();

template <typename T>
class LocalSlots final : public LocalSlotsBase {
 public:
  explicit LocalSlots(std::function<T()> init) : init_(std::move(init)) {}

  T& Get() {
    const std::thread::id self = std::this_thread::get_id();
    {
      absl::ReaderMutexLock lock(&mu_);
      if (auto it = values_.find(self); it != values_.end()) return *it->second;
    }
    // Made outside the lock: the initializer may use other Locals, or this
    // one's values on other threads.
    auto value = std::make_unique<T>(init_());
    T& result = *value;
    {
      absl::MutexLock lock(&mu_);
      values_.emplace(self, std::move(value));
    }
    ForgetAtThreadExit();
    return result;
  }

  void Forget(std::thread::id thread) override {
    std::unique_ptr<T> value;
    {
      absl::MutexLock lock(&mu_);
      auto it = values_.find(thread);
      if (it == values_.end()) return;
      value = std::move(it->second);
      values_.erase(it);
    }
    // The value is destroyed here, outside the lock, as its destructor may use
    // Locals.
  }

 private:
  const std::function<T()> init_;
  absl::Mutex mu_;
  std::unordered_map<std::thread::id, std::unique_ptr<T>> values_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace internal

template <typename T>
class Local {
 public:
  // Each thread's value starts default-constructed.
  Local() requires std::default_initializable<T> : Local([] { return T(); }) {}
  // Each thread's value starts as `init()`, called on that thread at its first
  // use.
  explicit Local(std::function<T()> init)
      : slots_(std::make_shared<internal::LocalSlots<T>>(std::move(init))) {}
  Local(const Local&) = delete;
  Local& operator=(const Local&) = delete;

  // The calling thread's value, made on first use.
  T& Get() { return slots_->Get(); }
  T& operator*() { return Get(); }
  T* operator->() { return &Get(); }

 private:
  // Shared with the exit hooks of the threads that used it, so a thread exiting
  // while the Local is destroyed finds it still whole.
  std::shared_ptr<internal::LocalSlots<T>> slots_;
};

}  // namespace pyconc::sync

#endif  // PYCONC_SYNC_LOCAL_LOCAL_H_
