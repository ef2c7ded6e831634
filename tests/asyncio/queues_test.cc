// Queue, LifoQueue, PriorityQueue, ported from CPython 3.13's
// Lib/test/test_asyncio/test_queues.py (each test names its CPython test).
// Orderings come from Sleep(0) steps and awaited tasks: no timing.
#include "asyncio/queues.h"

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "asyncio/asyncio.h"
#include "base/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyconc::asyncio {
namespace {

using ::testing::ElementsAre;

// asyncio.sleep(0).
internal::SleepAwaiter Yield() { return Sleep(absl::ZeroDuration()); }

bool IsShutDown(const absl::Status& status) {
  return IsError(status, PythonError::kAsyncioQueueShutDown);
}

// test_queues.QueueBasicTests.test_empty, test_full, test_maxsize and
// test_nonblocking_put_exception / test_nonblocking_get_exception.
TEST(QueueTest, NowaitCallsAnswerFullAndEmpty) {
  asyncio::Run([]() -> Coroutine<void> {
    Queue<int> q(2);
    EXPECT_EQ(q.maxsize(), 2);
    EXPECT_TRUE(q.Empty());
    EXPECT_FALSE(q.Full());
    absl::StatusOr<int> none = q.GetNowait();
    EXPECT_TRUE(IsError(none.status(), PythonError::kAsyncioQueueEmpty))
        << none.status();
    EXPECT_EQ(none.status().message(), "asyncio.QueueEmpty");
    EXPECT_TRUE(q.PutNowait(1).ok());
    EXPECT_TRUE(q.PutNowait(2).ok());
    EXPECT_TRUE(q.Full());
    const absl::Status full = q.PutNowait(3);
    EXPECT_TRUE(IsError(full, PythonError::kAsyncioQueueFull)) << full;
    EXPECT_EQ(q.QSize(), 2);
    EXPECT_EQ(*q.GetNowait(), 1);
    EXPECT_EQ(*co_await q.Get(), 2);
    Queue<int> unbounded;
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(unbounded.PutNowait(i).ok());
    EXPECT_FALSE(unbounded.Full());
    co_return;
  }());
}

// A failed PutNowait leaves a move-only item with the caller.
TEST(QueueTest, AFailedPutNowaitKeepsTheItem) {
  asyncio::Run([]() -> Coroutine<void> {
    Queue<std::unique_ptr<int>> q(1);
    EXPECT_TRUE(q.PutNowait(std::make_unique<int>(1)).ok());
    auto item = std::make_unique<int>(2);
    EXPECT_FALSE(q.PutNowait(std::move(item)).ok());
    EXPECT_TRUE(item != nullptr && *item == 2);
    EXPECT_EQ(**q.GetNowait(), 1);
    co_return;
  }());
}

// test_queues.QueueBasicTests.test_order, LifoQueueTests.test_order and
// PriorityQueueTests.test_order.
TEST(QueueTest, EachKindHasItsOrder) {
  asyncio::Run([]() -> Coroutine<void> {
    Queue<int> fifo;
    LifoQueue<int> lifo;
    PriorityQueue<int> priority;
    for (int i : {1, 3, 2}) {
      EXPECT_TRUE(fifo.PutNowait(i).ok());
      EXPECT_TRUE(lifo.PutNowait(i).ok());
      EXPECT_TRUE(priority.PutNowait(i).ok());
    }
    std::vector<int> a, b, c;
    for (int i = 0; i < 3; ++i) {
      a.push_back(*co_await fifo.Get());
      b.push_back(*co_await lifo.Get());
      c.push_back(*co_await priority.Get());
    }
    EXPECT_THAT(a, ElementsAre(1, 3, 2));
    EXPECT_THAT(b, ElementsAre(2, 3, 1));
    EXPECT_THAT(c, ElementsAre(1, 2, 3));
  }());
}

// test_queues.QueueGetTests.test_get_with_waiting_putters and
// QueuePutTests.test_blocking_put_wait: Put waits for a slot.
TEST(QueueTest, PutWaitsWhileFull) {
  asyncio::Run([]() -> Coroutine<void> {
    Queue<std::string> q(1);
    Task<absl::Status> a = CreateTask(q.Put("a"));
    Task<absl::Status> b = CreateTask(q.Put("b"));
    co_await Yield();
    EXPECT_TRUE(a.Done());
    EXPECT_FALSE(b.Done());
    EXPECT_EQ(*co_await q.Get(), "a");
    EXPECT_EQ(*co_await q.Get(), "b");
    EXPECT_TRUE((co_await b).ok());
  }());
}

Coroutine<void> Produce(Queue<int>* q, int n) {
  for (int i = 0; i < n; ++i) {
    absl::Status status = co_await q->Put(i);
    EXPECT_TRUE(status.ok()) << status;
  }
}

Coroutine<std::vector<int>> Consume(Queue<int>* q, int n) {
  std::vector<int> got;
  for (int i = 0; i < n; ++i) got.push_back(*co_await q->Get());
  co_return got;
}

// test_queues.QueueGetTests.test_why_are_getters_waiting and
// QueuePutTests.test_why_are_putters_waiting.
TEST(QueueTest, AProducerAndAConsumerThroughASlotOfOne) {
  asyncio::Run([]() -> Coroutine<void> {
    Queue<int> q(1);
    Task<void> producer = CreateTask(Produce(&q, 5));
    Task<std::vector<int>> consumer = CreateTask(Consume(&q, 5));
    co_await producer;
    EXPECT_THAT(co_await consumer, ElementsAre(0, 1, 2, 3, 4));
  }());
}

// test_queues.QueueGetTests.test_get_cancelled_race: a cancelled getter
// leaves, and the item goes to the next one.
TEST(QueueTest, ACancelledGetterLeavesTheItemToTheNext) {
  asyncio::Run([]() -> Coroutine<void> {
    Queue<std::string> q;
    Task<absl::StatusOr<std::string>> t1 = CreateTask(q.Get());
    Task<absl::StatusOr<std::string>> t2 = CreateTask(q.Get());
    co_await Yield();
    t1.Cancel();
    co_await Yield();
    EXPECT_TRUE(t1.Done());
    const absl::Status put = co_await q.Put(std::string("a"));
    EXPECT_TRUE(put.ok()) << put;
    co_await Yield();
    EXPECT_EQ(*co_await t2, "a");
  }());
}

// test_queues.QueuePutTests.test_get_cancel_drop_one_pending_reader: a reader
// woken for an item and cancelled before it runs does not take the item.
TEST(QueueTest, AGetCancelledAfterItsWakeUpDropsNoItem) {
  asyncio::Run([]() -> Coroutine<void> {
    Queue<int> q;
    Task<absl::StatusOr<int>> reader = CreateTask(q.Get());
    co_await Yield();
    EXPECT_TRUE(q.PutNowait(1).ok());
    EXPECT_TRUE(q.PutNowait(2).ok());
    reader.Cancel();
    try {
      (void)co_await reader;
      ADD_FAILURE() << "the reader was not cancelled";
    } catch (const CancelledError&) {
    }
    EXPECT_EQ(q.QSize(), 2);
    EXPECT_EQ(*co_await q.Get(), 1);  // Had 1 been dropped, this would be 2.
  }());
}

// test_queues.QueuePutTests.test_get_cancel_drop_many_pending_readers: the
// cancelled reader's wake-up passes to another reader; both items arrive.
TEST(QueueTest, ACancelledReaderPassesItsItemOn) {
  asyncio::Run([]() -> Coroutine<void> {
    Queue<int> q;
    Task<absl::StatusOr<int>> r1 = CreateTask(q.Get());
    Task<absl::StatusOr<int>> r2 = CreateTask(q.Get());
    Task<absl::StatusOr<int>> r3 = CreateTask(q.Get());
    co_await Yield();
    EXPECT_TRUE(q.PutNowait(1).ok());
    EXPECT_TRUE(q.PutNowait(2).ok());
    r1.Cancel();
    try {
      (void)co_await r1;
    } catch (const CancelledError&) {
    }
    absl::StatusOr<int> a = co_await r2;
    absl::StatusOr<int> b = co_await r3;
    EXPECT_EQ((std::set<int>{*a, *b}), (std::set<int>{1, 2}));
    EXPECT_TRUE(q.Empty());
  }());
}

// test_queues.QueuePutTests.test_put_cancel_drop: a writer woken for a slot
// and cancelled takes no slot; the slot stays for the next writer.
TEST(QueueTest, APutCancelledAfterItsWakeUpTakesNoSlot) {
  asyncio::Run([]() -> Coroutine<void> {
    Queue<int> q(1);
    EXPECT_TRUE(q.PutNowait(1).ok());
    Task<absl::Status> writer = CreateTask(q.Put(2));
    co_await Yield();
    EXPECT_EQ(*q.GetNowait(), 1);
    writer.Cancel();
    try {
      (void)co_await writer;
      ADD_FAILURE() << "the writer was not cancelled";
    } catch (const CancelledError&) {
    }
    EXPECT_TRUE(q.Empty());
    EXPECT_TRUE((co_await q.Put(2)).ok());
    EXPECT_EQ(*q.GetNowait(), 2);
    EXPECT_EQ(q.QSize(), 0);
  }());
}

// test_queues.QueuePutTests.test_put_cancelled_race: a cancelled putter
// leaves without adding its item; the others go in, in order.
TEST(QueueTest, ACancelledPutterAddsNothing) {
  asyncio::Run([]() -> Coroutine<void> {
    Queue<std::string> q(1);
    Task<absl::Status> put_a = CreateTask(q.Put("a"));
    Task<absl::Status> put_b = CreateTask(q.Put("b"));
    Task<absl::Status> put_c = CreateTask(q.Put("X"));
    co_await Yield();
    EXPECT_TRUE(put_a.Done());
    EXPECT_FALSE(put_b.Done());
    put_c.Cancel();
    co_await Yield();
    EXPECT_TRUE(put_c.Cancelled());
    EXPECT_EQ(*q.GetNowait(), "a");
    co_await Yield();
    EXPECT_EQ(*q.GetNowait(), "b");
    EXPECT_TRUE((co_await put_b).ok());
    EXPECT_TRUE(q.Empty());
  }());
}

// test_queues.QueueGetTests.test_cancelled_getters_not_being_held_in_self_
// getters, with a Get cut by WaitFor's timeout: it leaves no getter, so the
// next item goes to the next Get.
TEST(QueueTest, AGetCutByATimeoutLeavesNoGetter) {
  asyncio::Run([]() -> Coroutine<void> {
    Queue<int> q(5);
    Coroutine<absl::StatusOr<int>> get = q.Get();
    absl::StatusOr<absl::StatusOr<int>> timed =
        co_await WaitFor(std::move(get), absl::Milliseconds(1));
    EXPECT_TRUE(IsError(timed.status(), PythonError::kTimeoutError))
        << timed.status();
    EXPECT_TRUE(q.PutNowait(7).ok());
    EXPECT_EQ(q.QSize(), 1);
    EXPECT_EQ(*co_await q.Get(), 7);
  }());
}

// test_queues._QueueJoinTestMixin.test_task_done and test_join_empty_queue:
// Join waits until every item put is TaskDone.
TEST(QueueTest, JoinWaitsForEveryTaskDone) {
  asyncio::Run([]() -> Coroutine<void> {
    Queue<int> q;
    co_await q.Join();  // Nothing put: returns at once.
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(q.PutNowait(i).ok());
    Task<void> join = CreateTask(q.Join());
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<int> item = co_await q.Get();
      EXPECT_TRUE(item.ok()) << item.status();
      co_await Yield();
      EXPECT_FALSE(join.Done());
      EXPECT_EQ(q.unfinished_tasks(), 3 - i);
      q.TaskDone();
    }
    co_await join;
    EXPECT_EQ(q.unfinished_tasks(), 0);
  }());
}

// test_queues._QueueJoinTestMixin.test_task_done_underflow.
TEST(QueueDeathTest, TaskDoneTooManyTimesIsValueError) {
  EXPECT_DEATH(
      {
        Queue<int> q;
        q.TaskDone();
      },
      "ValueError.*task_done\\(\\) called too many times");
}

template <typename Q>
class ShutdownTest : public ::testing::Test {};
using Kinds = ::testing::Types<Queue<std::string>, LifoQueue<std::string>,
                               PriorityQueue<std::string>>;
TYPED_TEST_SUITE(ShutdownTest, Kinds);

// Every Put and Get of a shut-down queue with nothing left fails.
template <typename Q>
Coroutine<void> ExpectAllShutDown(Q* q) {
  EXPECT_TRUE(IsShutDown(co_await q->Put("data")));
  EXPECT_TRUE(IsShutDown(q->PutNowait("data")));
  absl::StatusOr<std::string> got = co_await q->Get();
  EXPECT_TRUE(IsShutDown(got.status())) << got.status();
  EXPECT_TRUE(IsShutDown(q->GetNowait().status()));
}

// test_queues._QueueShutdownTestMixin.test_shutdown_empty: a waiting Get
// wakes with QueueShutDown; Join returns.
TYPED_TEST(ShutdownTest, AnEmptyQueueFailsItsWaitingGet) {
  asyncio::Run([]() -> Coroutine<void> {
    TypeParam q;
    auto get_task = CreateTask(q.Get());
    co_await Yield();
    q.Shutdown();
    EXPECT_EQ(q.QSize(), 0);
    co_await q.Join();
    co_await Yield();
    EXPECT_TRUE(get_task.Done());
    absl::StatusOr<std::string> got = co_await get_task;
    EXPECT_TRUE(IsShutDown(got.status())) << got.status();
    EXPECT_EQ(got.status().message(), "asyncio.QueueShutDown");
    co_await ExpectAllShutDown(&q);
  }());
}

// test_queues._QueueShutdownTestMixin.test_shutdown_nonempty: a waiting Put
// fails; the items left can still be got; Join waits for their TaskDone.
TYPED_TEST(ShutdownTest, ANonEmptyQueueStillGivesItsItems) {
  asyncio::Run([]() -> Coroutine<void> {
    TypeParam q(1);
    EXPECT_TRUE(q.PutNowait("data").ok());
    Task<void> join_task = CreateTask(q.Join());
    Task<absl::Status> put_task = CreateTask(q.Put("data2"));
    co_await Yield();
    EXPECT_FALSE(put_task.Done());
    q.Shutdown(/*immediate=*/false);
    EXPECT_EQ(q.QSize(), 1);
    co_await Yield();
    EXPECT_TRUE(put_task.Done());
    EXPECT_TRUE(IsShutDown(co_await put_task));
    EXPECT_EQ(*co_await q.Get(), "data");
    co_await Yield();
    EXPECT_FALSE(join_task.Done());
    co_await ExpectAllShutDown(&q);
    q.TaskDone();
    co_await Yield();
    EXPECT_TRUE(join_task.Done());
    EXPECT_EQ(q.unfinished_tasks(), 0);
  }());
}

// test_queues._QueueShutdownTestMixin.test_shutdown_immediate: the items are
// discarded and counted done, so Join returns.
TYPED_TEST(ShutdownTest, ImmediateDiscardsTheItems) {
  asyncio::Run([]() -> Coroutine<void> {
    TypeParam q;
    EXPECT_TRUE(q.PutNowait("data").ok());
    Task<void> join_task = CreateTask(q.Join());
    q.Shutdown(/*immediate=*/true);
    EXPECT_EQ(q.QSize(), 0);
    co_await Yield();
    EXPECT_TRUE(join_task.Done());
    co_await ExpectAllShutDown(&q);
    EXPECT_EQ(q.unfinished_tasks(), 0);
  }());
}

// test_queues._QueueShutdownTestMixin.test_shutdown_immediate_with_unfinished:
// an item already got still needs its TaskDone.
TYPED_TEST(ShutdownTest, ImmediateKeepsTheCountOfItemsAlreadyGot) {
  asyncio::Run([]() -> Coroutine<void> {
    TypeParam q;
    EXPECT_TRUE(q.PutNowait("data").ok());
    EXPECT_TRUE(q.PutNowait("data").ok());
    Task<void> join_task = CreateTask(q.Join());
    EXPECT_EQ(*co_await q.Get(), "data");
    q.Shutdown(/*immediate=*/true);
    EXPECT_EQ(q.QSize(), 0);
    co_await Yield();
    EXPECT_FALSE(join_task.Done());
    co_await ExpectAllShutDown(&q);
    EXPECT_EQ(q.unfinished_tasks(), 1);
    q.TaskDone();
    co_await Yield();
    EXPECT_TRUE(join_task.Done());
  }());
}

// A Put waiting for room when an immediate shutdown comes fails, and the
// getters waiting on an empty queue fail too.
TYPED_TEST(ShutdownTest, ImmediateWakesEveryWaiter) {
  asyncio::Run([]() -> Coroutine<void> {
    TypeParam full(1);
    EXPECT_TRUE(full.PutNowait("x").ok());
    Task<absl::Status> putter = CreateTask(full.Put("y"));
    TypeParam empty;
    auto getter = CreateTask(empty.Get());
    co_await Yield();
    full.Shutdown(/*immediate=*/true);
    empty.Shutdown(/*immediate=*/true);
    EXPECT_TRUE(IsShutDown(co_await putter));
    absl::StatusOr<std::string> got = co_await getter;
    EXPECT_TRUE(IsShutDown(got.status())) << got.status();
    EXPECT_TRUE(full.Empty());
  }());
}

}  // namespace
}  // namespace pyconc::asyncio
