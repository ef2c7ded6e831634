// ThreadSanitizer reads these suppressions at start-up when it is linked in;
// without ThreadSanitizer the function is never called.
//
// Abseil's Waiter::Post signals a futex that the woken thread may already have
// freed with its stack frame; the report is inside Abseil and known upstream.
//
// std::exception_ptr counts its references with atomics inside libstdc++,
// which is not instrumented: when the last reference goes on one thread (a
// pool thread dropping a finished futures::Future) after another thread read
// the exception (the loop rethrew it), ThreadSanitizer does not see the
// count's ordering and reports the exception's destruction as racing with
// that read. Only a destruction reached from exception_ptr's release is
// suppressed; every other access to an exception is still checked.

extern "C" const char* __tsan_default_suppressions() {
  return "race:absl::*synchronization_internal::Waiter::Post\n"
         "race:std::__exception_ptr::exception_ptr::_M_release\n";
}
