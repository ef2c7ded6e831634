#include "sync/local/local.h"

#include <algorithm>
#include <vector>

namespace pyconc::sync::internal {
namespace {

// The Locals a thread has values in; destroyed when the thread exits.
class ThreadExitHooks {
 public:
  ~ThreadExitHooks() { ForgetAll(); }

  // Destroys this thread's values. A value's destructor may use Locals again,
  // which registers them anew: forgets until none is left.
  void ForgetAll() {
    const std::thread::id self = std::this_thread::get_id();
    while (!locals_.empty()) {
      std::vector<std::weak_ptr<LocalSlotsBase>> locals;
      locals.swap(locals_);
      for (const std::weak_ptr<LocalSlotsBase>& weak : locals) {
        if (std::shared_ptr<LocalSlotsBase> local = weak.lock()) {
          local->Forget(self);
        }
      }
    }
  }

  void Add(std::weak_ptr<LocalSlotsBase> local) {
    // Drops the Locals destroyed since, so a thread that outlives many stays
    // small.
    std::erase_if(locals_, [](const auto& weak) { return weak.expired(); });
    locals_.push_back(std::move(local));
  }

 private:
  std::vector<std::weak_ptr<LocalSlotsBase>> locals_;
};

thread_local ThreadExitHooks thread_exit_hooks;

}  // namespace

void LocalSlotsBase::ForgetAtThreadExit() {
  thread_exit_hooks.Add(weak_from_this());
}

void DestroyThisThreadsLocals() { thread_exit_hooks.ForgetAll(); }

}  // namespace pyconc::sync::internal
