// ThreadSanitizer reads these suppressions at start-up when it is linked in;
// without ThreadSanitizer the function is never called.
//
// Abseil's Waiter::Post signals a futex that the woken thread may already have
// freed with its stack frame; the report is inside Abseil and known upstream.

extern "C" const char* __tsan_default_suppressions() {
  return "race:absl::*synchronization_internal::Waiter::Post\n";
}
