#include "threading/pool/internal/work_queue.h"

#include <thread>

namespace pyconc::futures::internal {

void WorkQueue::PushNode(QueueNode* node) {
  node->next.store(nullptr, std::memory_order_relaxed);
  QueueNode* prev = tail_.exchange(node, std::memory_order_seq_cst);
  prev->next.store(node, std::memory_order_release);
}

WorkItem* WorkQueue::Pop() {
  absl::MutexLock lock(&consumer_mu_);
  return static_cast<WorkItem*>(PopLocked());
}

std::vector<WorkItem*> WorkQueue::Drain() {
  absl::MutexLock lock(&consumer_mu_);
  std::vector<WorkItem*> items;
  while (QueueNode* node = PopLocked()) {
    items.push_back(static_cast<WorkItem*>(node));
  }
  return items;
}

QueueNode* WorkQueue::PopLocked() {
  for (;;) {
    QueueNode* head = head_;
    QueueNode* next = head->next.load(std::memory_order_acquire);
    if (head == &stub_) {
      if (next == nullptr) {
        // Empty, unless a producer has swapped the tail but not linked yet.
        if (tail_.load(std::memory_order_seq_cst) == &stub_) return nullptr;
        std::this_thread::yield();
        continue;
      }
      head_ = next;
      head = next;
      next = next->next.load(std::memory_order_acquire);
    }
    if (next != nullptr) {
      head_ = next;
      return head;
    }
    // `head` is the last linked node; it may only leave once something
    // follows it, so put the stub behind it.
    if (tail_.load(std::memory_order_seq_cst) == head) {
      PushNode(&stub_);
      next = head->next.load(std::memory_order_acquire);
      if (next != nullptr) {
        head_ = next;
        return head;
      }
    }
    // A producer is between its exchange and its link; it finishes at once.
    std::this_thread::yield();
  }
}

}  // namespace pyconc::futures::internal
