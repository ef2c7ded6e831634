// Debug aids for asyncio: source locations, the task dump, slow-step reports.
//
// Python's debug mode (loop.set_debug(True) or PYTHONASYNCIODEBUG=1) reports
// callbacks and task steps that hold the loop longer than
// loop.slow_callback_duration (100 ms), naming them. pyconc does the same with
// EventLoop::SetDebug(true) or the environment variable PYCONC_ASYNCIO_DEBUG=1
// (read when a loop is created). DumpTasks() prints every pending task and
// where it is suspended: on which Sleep, Future, Task or socket, at which line.
//
// Locations are captured by default arguments (`internal::Where::Here()`), so
// calls such as `co_await Sleep(d)` record the line that made them without any
// macro. Recording is two stores, so it is always on.
//
// Thread-safety: DumpTasks() runs on the loop's thread (like AllTasks()).

#ifndef PYCONC_ASYNCIO_DEBUG_H_
#define PYCONC_ASYNCIO_DEBUG_H_

#include <string>

namespace pyconc::asyncio {

class EventLoop;

namespace internal {

// A source location, captured at the caller of the function that takes it as
// a default argument. (std::source_location needs __builtin_source_location,
// which clang 14 lacks; these builtins work in g++ 12 and clang 14.)
struct Where {
  static constexpr Where Here(const char* file = __builtin_FILE(),
                              int line = __builtin_LINE(),
                              const char* function = __builtin_FUNCTION()) {
    return Where{file, line, function};
  }
  // "file.cc:42", with the directories dropped.
  std::string ShortString() const;

  const char* file = "";
  int line = 0;
  const char* function = "";
};

}  // namespace internal

// One line per pending task of `loop`: its name, the coroutine it runs, and
// where it is suspended (Python: asyncio.all_tasks() with print_stack()).
std::string DumpTasks(EventLoop& loop);

// Whether PYCONC_ASYNCIO_DEBUG is set to a non-empty value other than "0".
bool DebugFromEnvironment();

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_DEBUG_H_
