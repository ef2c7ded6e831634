#include "asyncio/handle.h"

#include "asyncio/internal/loop_core.h"

namespace pyconc::asyncio {

void Handle::Cancel() {
  if (node_ == nullptr) return;
  node_->Cancel();
  if (node_->in_heap()) {
    node_->loop()->RemoveTimer(node_);
    node_->Unref();  // The heap's reference.
  }
}

absl::Time TimerHandle::When() const {
  return node() == nullptr ? absl::InfinitePast()
                           : absl::FromUnixNanos(node()->when_ns());
}

}  // namespace pyconc::asyncio
