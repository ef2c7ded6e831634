#include "asyncio/sleep.h"

#include <algorithm>
#include <coroutine>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "asyncio/coroutine.h"
#include "asyncio/errors.h"

namespace pyconc::asyncio::internal {

int64_t SleepAwaiter::ToNanos(absl::Duration delay) {
  // About 146 years: far enough, and no overflow when added to the clock.
  constexpr int64_t kForever = int64_t{1} << 62;
  if (delay >= absl::Nanoseconds(kForever)) return kForever;
  return absl::ToInt64Nanoseconds(delay);
}

bool SleepAwaiter::CancelWait(const std::string& message) {
  // Out of the heap: fired (or a yield), the task already on its way back.
  if (!in_heap()) return false;
  task_->task_loop()->RemoveTimer(this);
  cancelled_ = true;
  task_->set_cancel_message(message);
  task_->Wake();
  return true;
}

void SleepAwaiter::AbandonWait(TaskBase*) {
  if (in_heap()) task_->task_loop()->RemoveTimer(this);
}

void FireSleep(TimerSlot* sleep) { static_cast<SleepAwaiter*>(sleep)->Fire(); }

std::string SleepAwaiter::DescribeWait() const {
  // A task waits on its Sleep only while the Sleep is in the heap: once it
  // fires or is cancelled the task is queued, and waits on nothing. The time
  // left is rounded up to the millisecond: a fresh Sleep(1h) reads "1h left".
  const int64_t left_ns = std::max<int64_t>(
      task_->task_loop()->TimerWhenNs(this) - LoopCore::NowNs(), 0);
  std::string out =
      absl::StrCat("Sleep(",
                   absl::FormatDuration(absl::Ceil(absl::Nanoseconds(left_ns),
                                                   absl::Milliseconds(1))),
                   " left)");
  // The coroutine suspended here is the one that awaits this Sleep.
  std::coroutine_handle<> in = task_->suspended_in();
  if (in == nullptr) return absl::StrCat(out, " at line ", line_);
  Where where = PromiseAt(in.address())->where();
  where.line = line_;
  return absl::StrCat(out, " at ", where.ShortString(), " in ", where.function);
}

void SleepAwaiter::ThrowCancelled() {
  throw CancelledError(task_->cancel_message());
}

}  // namespace pyconc::asyncio::internal
