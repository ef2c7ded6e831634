// SingleThreaded(): whether the calling thread is the process's only thread,
// so that a primitive may change its word with a plain load and store instead
// of an atomic read-modify-write (about 5 ns against 16 here, for a Lock's
// Acquire() and Release()).
//
// glibc's pthread_mutex_lock and libstdc++'s shared_ptr take the same
// shortcut, on the same flag: glibc's __libc_single_threaded, which is true
// until the process creates its second thread (pthread_create clears it
// before the thread starts, so everything the first thread did before happens
// before the new thread's first step), and may become true again only once
// every other thread has been joined. Nothing else can touch a primitive
// while it is true: a signal handler may not call pyconc's primitives (they
// are not async-signal-safe), and a process-shared object (//multiprocessing/
// shared) never takes this path. Not part of the API.

#ifndef PYCONC_SYNC_INTERNAL_SINGLE_THREADED_H_
#define PYCONC_SYNC_INTERNAL_SINGLE_THREADED_H_

#if defined(__GLIBC__) && __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define PYCONC_HAS_LIBC_SINGLE_THREADED 1
#endif

namespace pyconc::sync::internal {

// True only while the calling thread is the only thread of the process; false
// on a C library that does not say.
inline bool SingleThreaded() {
#ifdef PYCONC_HAS_LIBC_SINGLE_THREADED
  return __libc_single_threaded != 0;
#else
  return false;
#endif
}

}  // namespace pyconc::sync::internal

#endif  // PYCONC_SYNC_INTERNAL_SINGLE_THREADED_H_
