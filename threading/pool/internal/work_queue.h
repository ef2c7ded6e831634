// The executor's internals: a submitted call (one allocation holding the call
// and its Future's state) and the queue of calls waiting for a worker.
//
// WorkQueue is an intrusive multi-producer queue after Dmitry Vyukov's: Push()
// is one atomic exchange and never locks, so submitters do not contend with
// workers; Pop() runs under the queue's consumer lock, which only workers take.
// Not part of the API.
//
// Thread-safety: Push() from any thread; Pop() and Drain() from any thread
// (they take the consumer lock).

#ifndef PYCONC_THREADING_POOL_INTERNAL_WORK_QUEUE_H_
#define PYCONC_THREADING_POOL_INTERNAL_WORK_QUEUE_H_

#include <atomic>
#include <cstdint>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "threading/pool/future.h"

namespace pyconc::futures::internal {

struct QueueNode {
  std::atomic<QueueNode*> next{nullptr};
};

// A call waiting for a worker. The queue holds one reference to it.
class WorkItem : public QueueNode {
 public:
  // Runs the call unless cancelled, calls `before_publish`, completes the
  // Future, drops the reference.
  virtual void Run(absl::FunctionRef<void()> before_publish) = 0;
  // Never runs it: cancels the Future (`broken` null) or fails it with
  // `broken`; drops the reference.
  virtual void Abandon(std::exception_ptr broken) = 0;

  // The flow from Submit() to the call, while a trace records (else 0).
  uint64_t trace_flow = 0;

 protected:
  ~WorkItem() = default;
};

// The Future's state and the call, in one allocation.
template <typename R, typename Call>
class Task final : public State<R>, public WorkItem {
 public:
  // Starts with two references: the Future's and the queue's.
  explicit Task(Call call) : call_(std::move(call)) { this->Ref(); }

  void Run(absl::FunctionRef<void()> before_publish) override {
    if (this->SetRunningOrNotifyCancel()) {
      std::exception_ptr error;
      std::optional<typename State<R>::Stored> result;
      try {
        if constexpr (std::is_void_v<R>) {
          (*call_)();
          result.emplace();
        } else {
          result.emplace((*call_)());
        }
      } catch (...) {
        error = std::current_exception();
      }
      // Drop the call (and what it captured) before waking anyone, as Python
      // deletes the work item.
      call_.reset();
      before_publish();
      if (error != nullptr) {
        this->SetException(std::move(error));
      } else {
        this->BeginSet("set_result");
        this->value = std::move(result);
        this->Finish();
      }
    }
    call_.reset();
    this->Unref();
  }

  void Abandon(std::exception_ptr broken) override {
    if (broken == nullptr) {
      this->Cancel();
    } else if (this->SetRunningOrNotifyCancel()) {
      this->SetException(std::move(broken));
    }
    call_.reset();
    this->Unref();
  }

 private:
  std::optional<Call> call_;
};

class WorkQueue {
 public:
  WorkQueue() : tail_(&stub_), head_(&stub_) {}
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Appends `item`. Sequentially consistent, so that a Submit() that pushes and
  // then looks for sleeping workers cannot miss one that looked at the queue
  // and went to sleep.
  void Push(WorkItem* item) { PushNode(item); }

  // The oldest item, or nullptr when the queue is empty.
  WorkItem* Pop() ABSL_LOCKS_EXCLUDED(consumer_mu_);

  // True when nothing is queued (or a Push() is half done); a hint.
  bool LooksEmpty() const {
    return tail_.load(std::memory_order_acquire) == &stub_;
  }

  // Removes every item.
  std::vector<WorkItem*> Drain() ABSL_LOCKS_EXCLUDED(consumer_mu_);

 private:
  void PushNode(QueueNode* node);
  QueueNode* PopLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(consumer_mu_);

  // Producers' side and consumers' side on separate cache lines.
  alignas(64) std::atomic<QueueNode*> tail_;
  alignas(64) absl::Mutex consumer_mu_;
  QueueNode* head_ ABSL_GUARDED_BY(consumer_mu_);
  QueueNode stub_;
};

}  // namespace pyconc::futures::internal

#endif  // PYCONC_THREADING_POOL_INTERNAL_WORK_QUEUE_H_
