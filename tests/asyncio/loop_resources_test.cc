// Running out is not misuse: with no descriptor left, EventLoop::Create()
// answers Python's OSError (EMFILE) as a status, where new_event_loop() raises.
// Its own binary: the test lowers RLIMIT_NOFILE for the whole process.

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "asyncio/loop.h"
#include "base/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyconc::asyncio {
namespace {

using ::testing::HasSubstr;

// Uses up every descriptor below a lowered limit; gives them back and the
// limit at destruction.
class NoDescriptorsLeft {
 public:
  NoDescriptorsLeft() {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = 64;
    setrlimit(RLIMIT_NOFILE, &low);
    for (;;) {
      const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      fds_.push_back(fd);
    }
  }
  NoDescriptorsLeft(const NoDescriptorsLeft&) = delete;
  NoDescriptorsLeft& operator=(const NoDescriptorsLeft&) = delete;
  ~NoDescriptorsLeft() {
    for (int fd : fds_) close(fd);
    setrlimit(RLIMIT_NOFILE, &saved_);
  }

  // Closes `n` of the descriptors it holds.
  void GiveBack(int n) {
    for (; n > 0 && !fds_.empty(); --n) {
      close(fds_.back());
      fds_.pop_back();
    }
  }

 private:
  rlimit saved_;
  std::vector<int> fds_;
};

TEST(LoopResourcesTest, CreateWithoutDescriptorsIsOSErrorNotAnAbort) {
  absl::StatusOr<std::unique_ptr<EventLoop>> loop;
  {
    NoDescriptorsLeft full;
    loop = EventLoop::Create();
  }
  ASSERT_FALSE(loop.ok());
  EXPECT_TRUE(IsError(loop.status(), PythonError::kOSError)) << loop.status();
  EXPECT_EQ(loop.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(loop.status().message(),
              HasSubstr("[Errno 24] Too many open files"));
}

TEST(LoopResourcesTest, CreateWithDescriptorsGivesAWorkingLoop) {
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok()) << loop.status();
  bool ran = false;
  (*loop)->CallSoon([&] {
    ran = true;
    (*loop)->Stop();
  });
  (*loop)->RunForever();
  EXPECT_TRUE(ran);
  (*loop)->Close();
}

// One descriptor left: epoll_create1 succeeds and eventfd fails; the epoll
// descriptor goes back, so the one descriptor is free again afterwards.
TEST(LoopResourcesTest, CreateFailingHalfwayGivesBackWhatItTook) {
  NoDescriptorsLeft full;
  full.GiveBack(1);
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  ASSERT_FALSE(loop.ok());
  EXPECT_EQ(loop.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(loop.status().message(), HasSubstr("eventfd"));
  const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0);
  if (fd >= 0) close(fd);
}

}  // namespace
}  // namespace pyconc::asyncio
