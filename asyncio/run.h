// Run: Python's asyncio.run(main), the usual entry point.
//
//   Coroutine<int> Main() { ...; co_return 0; }
//   int main() { return pyconc::asyncio::Run(Main()); }
//
// Creates a new EventLoop, runs `main` as a task until it is done, then
// cancels every task still pending and runs the loop until they have all
// finished (reporting any that ended with an exception), closes the loop and
// returns main's value or rethrows its exception (CancelledError if it was
// cancelled).
//
// Ctrl-C (since Python 3.11): on the main thread, when SIGINT has its default
// disposition, Run handles SIGINT while `main` runs (AddSignalHandler, with
// what loop.h says that means for threads): the first SIGINT cancels `main`,
// which can clean up, and Run rethrows its CancelledError (Python raises
// KeyboardInterrupt there instead, which C++ has no counterpart of; a program
// that wants the shell's 130 exits with it). The first SIGINT also gives
// SIGINT back its default disposition, so a second Ctrl-C ends the process
// at once, where Python raises KeyboardInterrupt in the loop. Run leaves
// SIGINT as it found it once `main` is done.
//
// Blocks the calling thread, which becomes the loop's thread.
// Misuse (RuntimeError) when a loop is already running on this thread.
//
// Thread-safety: call from any thread that is not running a loop; several
// threads may each Run their own loop.

#ifndef PYCONC_ASYNCIO_RUN_H_
#define PYCONC_ASYNCIO_RUN_H_

#include <utility>

#include "asyncio/coroutine.h"
#include "asyncio/internal/signals.h"
#include "asyncio/loop.h"
#include "asyncio/task.h"

namespace pyconc::asyncio {

// The keyword arguments of Python's asyncio.run(main, debug=...).
struct RunOptions {
  // Debug mode (see debug.h); PYCONC_ASYNCIO_DEBUG also turns it on.
  bool debug = false;
};

namespace internal {
// Misuse unless no loop is running on this thread.
void CheckNoRunningLoop();
// Cancels the loop's pending tasks and runs it until they are done.
void CancelAllTasks(EventLoop& loop);
}  // namespace internal

// Python's asyncio.run(main); see the top of this file.
template <typename T>
T Run(Coroutine<T> main, RunOptions options = {}) {
  internal::CheckNoRunningLoop();
  EventLoop loop;
  if (options.debug) loop.SetDebug(true);
  Task<T> task = loop.CreateTask(std::move(main));
  internal::SignalHandlers::InstallInterrupt(loop, task);
  loop.RunUntilDone(task.base());
  internal::SignalHandlers::RemoveInterrupt(loop);
  internal::CancelAllTasks(loop);
  loop.Close();
  return T(task.Result());
}

}  // namespace pyconc::asyncio

#endif  // PYCONC_ASYNCIO_RUN_H_
