// The loop's timer heap (asyncio/internal/schedule.h): earliest deadline
// first, equal deadlines in the order they were pushed (which Python's heap
// does not promise, but its callbacks scheduled for one time in one order
// run in that order, as test_events.py's test_call_at expects), and removal
// of any member.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <utility>
#include <vector>

#include "asyncio/internal/schedule.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyconc::asyncio::internal {
namespace {

using ::testing::ElementsAreArray;

// A timer that records its number when it fires.
class Recorder final : public TimerNode {
 public:
  Recorder(int id, std::vector<int>* fired) : id_(id), fired_(fired) {}
  void Fire() override { fired_->push_back(id_); }

 private:
  int id_;
  std::vector<int>* fired_;
};

// Pops every timer, firing each.
void Drain(TimerHeap& heap) {
  while (!heap.empty()) heap.Pop().Fire();
}

TEST(TimerHeapTest, EarliestDeadlineFirstAndTiesInPushOrder) {
  std::vector<int> fired;
  std::vector<Recorder> timers;
  timers.reserve(200);
  for (int i = 0; i < 200; ++i) timers.emplace_back(i, &fired);
  // Deadlines 0..9, twenty timers each, pushed in a shuffled order.
  std::vector<int> order(200);
  for (int i = 0; i < 200; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  TimerHeap heap;
  std::vector<std::pair<int64_t, int>> expected;  // (deadline, push rank)
  for (int rank = 0; rank < 200; ++rank) {
    const int id = order[rank];
    heap.Push(&timers[id], id % 10);
    expected.emplace_back(id % 10, rank);
  }
  std::sort(expected.begin(), expected.end());
  std::vector<int> want;
  for (const auto& [deadline, rank] : expected) want.push_back(order[rank]);
  EXPECT_EQ(heap.size(), 200u);
  EXPECT_EQ(heap.top_when_ns(), 0);
  Drain(heap);
  EXPECT_THAT(fired, ElementsAreArray(want));
  for (const Recorder& timer : timers) EXPECT_FALSE(timer.in_heap());
}

TEST(TimerHeapTest, RemovingAnyMemberKeepsTheRestInOrder) {
  std::vector<int> fired;
  std::vector<Recorder> timers;
  timers.reserve(100);
  for (int i = 0; i < 100; ++i) timers.emplace_back(i, &fired);
  TimerHeap heap;
  for (int i = 99; i >= 0; --i) heap.Push(&timers[i], i);
  std::vector<int> want;
  for (int i = 0; i < 100; ++i) {
    if (i % 3 == 0) {
      heap.Remove(&timers[i]);
      EXPECT_FALSE(timers[i].in_heap());
    } else {
      EXPECT_TRUE(timers[i].in_heap());
      want.push_back(i);
    }
  }
  Drain(heap);
  EXPECT_THAT(fired, ElementsAreArray(want));
}

TEST(TimerHeapTest, PushOrderHoldsAcrossTheSequenceWrapping) {
  // Three timers with one deadline whose sequence numbers wrap around 2^32
  // between the second and the third, among others due earlier and later.
  std::vector<int> fired;
  std::vector<Recorder> timers;
  timers.reserve(5);
  for (int i = 0; i < 5; ++i) timers.emplace_back(i, &fired);
  TimerHeap heap(/*first_seq=*/~uint32_t{0} - 2);
  heap.Push(&timers[4], 9);
  heap.Push(&timers[0], 5);  // Sequence 2^32 - 2.
  heap.Push(&timers[1], 5);  // 2^32 - 1.
  heap.Push(&timers[2], 5);  // 0, after the wrap.
  heap.Push(&timers[3], 1);
  Drain(heap);
  EXPECT_THAT(fired, ElementsAreArray({3, 0, 1, 2, 4}));
}

// The slot of a task's Sleep stands in for one here: the heap keeps it and
// gives it back tagged, and only the loop fires it (through FireSleep).
struct SleepSlot : TimerSlot {};

TEST(TimerHeapTest, SleepsComeOutTaggedInDeadlineOrderAmongNodes) {
  std::vector<int> fired;
  std::vector<Recorder> nodes;
  nodes.reserve(3);
  for (int i = 0; i < 3; ++i) nodes.emplace_back(i, &fired);
  std::vector<SleepSlot> sleeps(4);
  TimerHeap heap;
  heap.PushSleep(&sleeps[0], 4);
  heap.Push(&nodes[0], 3);
  heap.PushSleep(&sleeps[1], 1);
  heap.Push(&nodes[1], 4);  // After sleeps[0]: pushed later.
  heap.PushSleep(&sleeps[2], 2);
  heap.PushSleep(&sleeps[3], 0);
  heap.Push(&nodes[2], 5);
  EXPECT_EQ(heap.when_ns(&sleeps[2]), 2);
  heap.Remove(&sleeps[2]);
  EXPECT_FALSE(sleeps[2].in_heap());

  std::vector<std::pair<bool, const TimerSlot*>> popped;
  while (!heap.empty()) {
    const DueTimer due = heap.Pop();
    EXPECT_FALSE(due.slot->in_heap());
    popped.emplace_back(due.is_sleep, due.slot);
    if (!due.is_sleep) due.Fire();
  }
  const std::vector<std::pair<bool, const TimerSlot*>> want = {
      {true, &sleeps[3]}, {true, &sleeps[1]}, {false, &nodes[0]},
      {true, &sleeps[0]}, {false, &nodes[1]}, {false, &nodes[2]}};
  EXPECT_EQ(popped, want);
  EXPECT_THAT(fired, ElementsAreArray({0, 1, 2}));
}

}  // namespace
}  // namespace pyconc::asyncio::internal
