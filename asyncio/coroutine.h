// Coroutine<T>: what an `async def` returns.
//
//   Coroutine<int> Answer() {
//     co_await Sleep(absl::Milliseconds(5));
//     co_return 42;
//   }
//   Coroutine<void> Main() { int x = co_await Answer(); }
//
// Lazy: calling Answer() allocates its frame and runs nothing. The body starts
// when the Coroutine is awaited (it then runs inside the awaiting task, like
// `await coro` in Python) or handed to CreateTask / Run / RunUntilComplete.
// Move-only, and awaitable once. When the body returns, the awaiting coroutine
// resumes at once, on the loop's thread, inside the same task step: awaiting a
// coroutine that does not suspend never goes through the loop.
//
// Stack depth: every transfer between a coroutine and the one it awaits is a
// jump, not a nested call, so deep await chains (a coroutine awaiting 10^7
// coroutines in a loop, or recursion 10^5 deep) keep the stack flat. With
// clang, and with g++ in optimized builds without sanitizers (what `-c opt`
// gives), this is symmetric transfer: await_suspend returns the next handle and
// the compiler makes the resume a tail call. g++ makes that tail call only when
// it optimizes sibling calls (-O2, -O3, -Os), so an unoptimized or sanitized
// g++ build uses a trampoline instead: the task's step resumes the next handle
// itself, the same order of execution, one loop iteration per transfer.
// Translation units built either way work together. (A g++ build at exactly
// -O1 gets symmetric transfer without the tail call; add
// -foptimize-sibling-calls there.)
//
// Nothing lost: an exception thrown in the body is rethrown at the await; a
// Coroutine destroyed without ever being started is reported on stderr
// (Python's "RuntimeWarning: coroutine '...' was never awaited").
//
// Frames are allocated from a per-thread cache of recently freed frames (off
// under AddressSanitizer, so that use-after-free is still caught). Each frame
// has room in front of it for the state of a task (see kTaskRoom below), so
// that a task is one allocation; a coroutine that is only awaited leaves that
// room unused (memory, not time).
//
// Thread-safety: a Coroutine runs on the loop's thread of the task that runs
// it. It may be created on another thread and handed over before it starts.

#ifndef PYCONC_ASYNCIO_COROUTINE_H_
#define PYCONC_ASYNCIO_COROUTINE_H_

#include <coroutine>
#include <cstddef>
#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "asyncio/debug.h"
#include "asyncio/internal/frame_cache.h"
#include "asyncio/internal/suspension.h"

namespace pyconc::asyncio {
namespace internal {

// Symmetric transfer where the compiler makes it a tail call (see the top of
// this file); the task's trampoline also runs coroutines compiled that way.
#if defined(__clang__) ||                                       \
    (defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__) && \
     !defined(__SANITIZE_THREAD__))
inline constexpr bool kSymmetricTransfer = true;
#else
inline constexpr bool kSymmetricTransfer = false;
#endif

// Passes control to `to` within the task: a tail call, or via the trampoline.
inline std::coroutine_handle<> Transfer(TaskFrame* task,
                                        std::coroutine_handle<> to) {
  if constexpr (kSymmetricTransfer) {
    return to;
  } else {
    task->task_loop()->trampoline_next_ = to;
    return std::noop_coroutine();
  }
}

class PromiseBase;

// The promise of a coroutine frame, from the frame's address alone: g++ and
// clang lay a frame out as its resume and destroy pointers, then the promise
// at the next multiple of its alignment, so every promise aligned to 16 bytes
// or less (every Promise<T> unless T is over-aligned) is at the same offset,
// and a PromiseBase starts each (tests/asyncio:graph_test checks this). This
// is how the call graph finds a coroutine's awaiter and a task's innermost
// coroutine without storing a pointer to their promises.
template <typename P>
inline constexpr bool kPromiseAtFixedOffset = alignof(P) <= 16;
inline const PromiseBase* PromiseAt(void* frame) {
  return static_cast<const PromiseBase*>(__builtin_coro_promise(
      frame, static_cast<int>(alignof(std::max_align_t)), false));
}

// Reports "coroutine '<function>' (<file:line>) was never awaited".
void ReportNeverAwaited(const Where& where);
[[noreturn]] void AwaitedTwice(const Where& where);

class PromiseBase {
 public:
  // The location is the coroutine's own (the default argument is evaluated
  // where the compiler constructs the promise, inside the coroutine). Taking a
  // Where, not plain strings, keeps coroutine parameters from matching.
  explicit PromiseBase(Where where)
      : file_(where.file), function_(where.function), line_(where.line) {}

  // Lazy: the body starts when the coroutine is awaited or its task steps.
  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <typename P>
    std::coroutine_handle<> await_suspend(
        std::coroutine_handle<P> self) const noexcept {
      PromiseBase& promise = self.promise();
      if (!promise.continuation_) {  // The task's own coroutine.
        RunningTaskFrame()->TopReturned();
        return std::noop_coroutine();
      }
      return Transfer(RunningTaskFrame(), promise.continuation_);
    }
    void await_resume() const noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  void unhandled_exception() noexcept {
    escaping_exception = std::current_exception();
    failed_ = true;
  }
  // Rethrows the exception the coroutine ended with, if any.
  void RethrowIfFailed() {
    if (failed_) [[unlikely]]
      std::rethrow_exception(TakeFailure());
  }
  // Whether the coroutine ended with an exception, and that exception (once).
  bool failed() const { return failed_; }
  std::exception_ptr TakeFailure() {
    return std::exchange(escaping_exception, nullptr);
  }

  // The task the coroutine runs in: the one whose step is running, as a
  // coroutine runs only inside its task's steps (a frame keeps no pointer).
  TaskFrame* task() const { return RunningTaskFrame(); }
  // The coroutine was handed to an awaiter or a task: its body will run.
  void set_started() { started_ = true; }
  // The coroutine awaiting this one, resumed when this one returns.
  template <typename P>
  void set_continuation(std::coroutine_handle<P> caller) {
    continuation_ = caller;
    if constexpr (!kPromiseAtFixedOffset<P>) awaiter_unknown_ = true;
  }
  // The awaiting coroutine's promise, for the call graph (graph.h), which
  // walks from the innermost coroutine up to the task's own; null for a
  // task's own coroutine (or an awaiter whose promise is over-aligned).
  const PromiseBase* awaiter() const {
    if (!continuation_ || awaiter_unknown_) return nullptr;
    return PromiseAt(continuation_.address());
  }
  // Whether it was awaited or given to a task (see set_started).
  bool started() const { return started_; }
  Where where() const { return Where{file_, line_, function_}; }

 private:
  std::coroutine_handle<> continuation_;
  // The coroutine's Where, flattened so that the flags below fill the padding
  // after its line: every coroutine frame holds one.
  const char* file_;
  const char* function_;
  int line_;
  bool started_ = false;
  bool awaiter_unknown_ = false;
  bool failed_ = false;  // The exception is in escaping_exception.

  // The exception a coroutine ended with, until its awaiter (or, for a
  // task's own coroutine, the task) takes it. That happens on the same
  // thread before anything else runs: a coroutine ends only inside a step of
  // its task, and hands the thread straight to its awaiter. (Kept apart from
  // every frame: the frame's promise keeps one bit, failed_.)
  static inline thread_local std::exception_ptr escaping_exception;
};

// A task's state is built in the room in front of its coroutine's frame, in
// the frame's block (task.h): every Coroutine<T> frame reserves kTaskRoom<T>
// bytes there. The room's first word tells the frame's operator delete whether
// a task lives there: null as allocated, the task's vptr (never null) once it
// is built. A task's frame leaves the block to the task, which frees it.
inline constexpr std::size_t kTaskBaseSize = 80;  // sizeof(TaskBase), checked.

// A frame is aligned to 16 bytes, as malloc's blocks are; a T aligned beyond
// that gets a frame of its own alignment and a task state apart from it.
// (C++20 tells a frame's operator new no alignment, and g++ 12 does not align
// a frame for over-aligned locals by itself: such values belong in the result
// type or on the heap.)
inline constexpr std::size_t kFrameAlign = 16;
template <typename T>
inline constexpr bool kOverAligned = alignof(std::optional<T>) > kFrameAlign;

// A task's value that fits in a word is kept, once the task is done, in the
// word of its Future part that would otherwise hold a null exception (see
// FutureBase::CompleteWithValueInWord): its state needs no room of its own.
template <typename T>
constexpr bool ResultFitsInWord() {
  if constexpr (std::is_void_v<T>) {
    return false;
  } else {
    return std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(void*) &&
           alignof(T) <= alignof(void*);
  }
}
template <typename T>
inline constexpr bool kResultInWord = ResultFitsInWord<T>();

template <typename T>
constexpr std::size_t TaskRoomSize() {
  auto round_up = [](std::size_t n, std::size_t to) {
    return (n + to - 1) / to * to;
  };
  if constexpr (std::is_void_v<T> || kResultInWord<T>) {
    return round_up(kTaskBaseSize, kFrameAlign);
  } else if constexpr (kOverAligned<T>) {
    return 0;  // The task's state is allocated apart.
  } else {
    // TaskState<T>: TaskBase, then the optional<T> of its ResultSlot<T>.
    return round_up(round_up(kTaskBaseSize, alignof(std::optional<T>)) +
                        sizeof(std::optional<T>),
                    kFrameAlign);
  }
}
template <typename T>
inline constexpr std::size_t kTaskRoom = TaskRoomSize<T>();

// The frame of the task in `room` was destroyed (task.cc): the task records
// the size of the block (room and frame), to free it when it goes.
void TaskFrameFreed(void* room, std::size_t block_size);

inline void* AllocateFrameWithRoom(std::size_t size, std::size_t room) {
  char* block = static_cast<char*>(AllocateFrame(size + room));
  if (room != 0) {
    void* const no_task = nullptr;
    std::memcpy(block, &no_task, sizeof no_task);
  }
  return block + room;
}

inline void FreeFrameWithRoom(void* frame, std::size_t size,
                              std::size_t room) noexcept {
  char* block = static_cast<char*>(frame) - room;
  if (room != 0) {
    void* task;
    std::memcpy(&task, block, sizeof task);
    if (task != nullptr) {
      TaskFrameFreed(block, size + room);
      return;
    }
  }
  FreeFrame(block, size + room);
}

template <typename T>
class Promise;

}  // namespace internal

template <typename T = void>
class [[nodiscard]] Coroutine {
 public:
  using promise_type = internal::Promise<T>;
  using Handle = std::coroutine_handle<promise_type>;

  Coroutine() = default;
  explicit Coroutine(Handle handle) : handle_(handle) {}
  Coroutine(Coroutine&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)) {}
  Coroutine& operator=(Coroutine&& other) noexcept {
    if (this != &other) {
      Reset();
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  ~Coroutine() { Reset(); }

  // Whether this holds a coroutine (false after a move or Release()).
  bool valid() const { return handle_ != nullptr; }
  // Where the coroutine's function is (for reports and task dumps).
  internal::Where where() const { return handle_.promise().where(); }

  // `co_await coro` runs the body inside the awaiting task and gives its
  // value, or rethrows its exception (Python: `await coro`).
  struct Awaiter {
    Handle handle;
    bool await_ready() const noexcept { return false; }
    template <typename P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> caller) {
      promise_type& promise = handle.promise();
      if (promise.started()) internal::AwaitedTwice(promise.where());
      promise.set_started();
      promise.set_continuation(caller);
      return internal::Transfer(caller.promise().task(), handle);
    }
    T await_resume() { return handle.promise().TakeResult(); }
  };
  Awaiter operator co_await() && { return Awaiter{handle_}; }
  Awaiter operator co_await() & { return Awaiter{handle_}; }

  // Gives up ownership of the frame (for CreateTask).
  Handle Release() { return std::exchange(handle_, nullptr); }

 private:
  void Reset() {
    if (handle_ == nullptr) return;
    if (!handle_.promise().started()) {
      internal::ReportNeverAwaited(handle_.promise().where());
    }
    handle_.destroy();
    handle_ = nullptr;
  }

  Handle handle_;
};

namespace internal {

template <typename T>
class Promise : public PromiseBase {
 public:
  Promise(Where where = Where::Here()) : PromiseBase(where) {}
  static void* operator new(std::size_t size) {
    if constexpr (kOverAligned<T>) {
      return ::operator new (size, std::align_val_t{alignof(Promise)});
    } else {
      return AllocateFrameWithRoom(size, kTaskRoom<T>);
    }
  }
  static void operator delete(void* frame, std::size_t size) noexcept {
    if constexpr (kOverAligned<T>) {
      // Unsized: clang 14 declares no sized deallocation by default.
      ::operator delete (frame, std::align_val_t{alignof(Promise)});
    } else {
      FreeFrameWithRoom(frame, size, kTaskRoom<T>);
    }
  }
  Coroutine<T> get_return_object() {
    return Coroutine<T>(std::coroutine_handle<Promise>::from_promise(*this));
  }
  template <typename U>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& value) { value_.emplace(std::forward<U>(value)); }

  T TakeResult() {
    RethrowIfFailed();
    return std::move(*value_);
  }

 private:
  std::optional<T> value_;
};

template <>
class Promise<void> : public PromiseBase {
 public:
  Promise(Where where = Where::Here()) : PromiseBase(where) {}
  static void* operator new(std::size_t size) {
    return AllocateFrameWithRoom(size, kTaskRoom<void>);
  }
  static void operator delete(void* frame, std::size_t size) noexcept {
    FreeFrameWithRoom(frame, size, kTaskRoom<void>);
  }
  Coroutine<void> get_return_object() {
    return Coroutine<void>(std::coroutine_handle<Promise>::from_promise(*this));
  }
  void return_void() {}
  void TakeResult() { RethrowIfFailed(); }
};

}  // namespace internal
}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_COROUTINE_H_
