// Helpers shared by the thread-pool tests.
#ifndef PYCONC_TESTS_THREADING_POOL_TEST_UTIL_H_
#define PYCONC_TESTS_THREADING_POOL_TEST_UTIL_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "threading/pool/executor.h"
#include "threading/pool/future.h"
#include "threading/thread/thread.h"

namespace pyconc::futures::testing {

// Silences and records what ExceptHook receives while installed.
class HookCapture {
 public:
  HookCapture() {
    previous_ =
        threading::SetExceptHook([this](const threading::ExceptHookArgs& args) {
          absl::MutexLock lock(&mu_);
          reports_.push_back(threading::DescribeException(args.exception));
        });
  }
  ~HookCapture() { threading::SetExceptHook(previous_); }

  // "type: message" of every report so far.
  std::vector<std::string> reports() {
    absl::MutexLock lock(&mu_);
    return reports_;
  }

 private:
  threading::ExceptHookFunction previous_;
  absl::Mutex mu_;
  std::vector<std::string> reports_ ABSL_GUARDED_BY(mu_);
};

// Holds a pool call: it notifies `started`, then waits for `release`. Declare
// it before the pool, so that it outlives the pool's workers.
struct Gate {
  absl::Notification started;
  absl::Notification release;
};

// Submits a call that passes through `gate` and then returns `value`.
inline Future<int> SubmitGated(ThreadPoolExecutor& pool, Gate& gate,
                               int value) {
  return *pool.Submit([&gate, value] {
    gate.started.Notify();
    gate.release.WaitForNotification();
    return value;
  });
}

}  // namespace pyconc::futures::testing

#endif  // PYCONC_TESTS_THREADING_POOL_TEST_UTIL_H_
