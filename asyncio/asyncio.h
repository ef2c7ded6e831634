// pyconc::asyncio: Python's asyncio in C++20, as one library (//asyncio).
//
// Include this header for all of it, or the parts:
//   asyncio/loop.h       EventLoop (call_soon, call_later, readers, run_*)
//   asyncio/handle.h     Handle, TimerHandle
//   asyncio/run.h        Run(coro), asyncio.run
//   asyncio/coroutine.h  Coroutine<T>, what an `async def` returns
//   asyncio/task.h       CreateTask, Task<T>, CurrentTask, AllTasks
//   asyncio/future.h     Future<T>
//   asyncio/sleep.h      Sleep(delay)
//   asyncio/gather.h     Gather(aws...), kReturnExceptions
//   asyncio/timeouts.h   Timeout, TimeoutAt, WaitFor
//   asyncio/shield.h     Shield(aw)
//   asyncio/wait.h       Wait, ReturnWhen, AsCompleted
//   asyncio/task_group.h TaskGroup, ExceptionGroup
//   asyncio/locks.h      Lock, Event, Condition, Semaphore, BoundedSemaphore,
//                        Barrier, Hold (async with)
//   asyncio/queues.h     Queue, LifoQueue, PriorityQueue
//   asyncio/sockets.h    SockRecv, SockSendAll, SockConnect, SockAccept
//   asyncio/streams.h    OpenConnection, StartServer, StreamReader,
//                        StreamWriter, Server (and the Unix variants)
//   asyncio/subprocess.h CreateSubprocessExec, CreateSubprocessShell, Process
//   asyncio/debug.h      DumpTasks, debug mode
//   asyncio/errors.h     CancelledError, ExceptionContext
//   asyncio/executor.h   ToThread, RunInExecutor, WrapFuture,
//                        RunCoroutineThreadsafe (bridges to //threading/pool)
//
// Python -> C++:
//   async def f() -> int: ...        Coroutine<int> F() { ... co_return 1; }
//   await f()                         co_await F()
//   asyncio.run(main())               Run(Main())
//   t = asyncio.create_task(f())      Task<int> t = CreateTask(F());
//   t.cancel("why")                   t.Cancel("why")
//   except asyncio.CancelledError     catch (const CancelledError&)
//   await asyncio.sleep(0.1)          co_await Sleep(absl::Milliseconds(100))
//   loop.call_soon_threadsafe(f)      loop.CallSoonThreadsafe(f)
//
// Thread-safety: see each header; a loop and its tasks belong to one thread.

#ifndef PYCONC_ASYNCIO_ASYNCIO_H_
#define PYCONC_ASYNCIO_ASYNCIO_H_

#include "asyncio/coroutine.h"
#include "asyncio/debug.h"
#include "asyncio/errors.h"
#include "asyncio/executor.h"
#include "asyncio/future.h"
#include "asyncio/gather.h"
#include "asyncio/graph.h"
#include "asyncio/locks.h"
#include "asyncio/loop.h"
#include "asyncio/queues.h"
#include "asyncio/run.h"
#include "asyncio/shield.h"
#include "asyncio/sleep.h"
#include "asyncio/sockets.h"
#include "asyncio/streams.h"
#include "asyncio/subprocess.h"
#include "asyncio/task.h"
#include "asyncio/task_group.h"
#include "asyncio/timeouts.h"
#include "asyncio/wait.h"

#endif  // PYCONC_ASYNCIO_ASYNCIO_H_
