#include "sync/stop/stop.h"

#include "sync/event/event.h"

namespace pyconc::sync {

bool WaitForStop(const std::stop_token& token, absl::Duration timeout) {
  Event stopped;
  // Runs at once, on this thread, when the stop was already requested. Its
  // destructor waits for a callback running on another thread, so `stopped`
  // outlives it.
  std::stop_callback on_stop(token, [&stopped] { stopped.Set(); });
  return stopped.Wait(timeout);
}

}  // namespace pyconc::sync
