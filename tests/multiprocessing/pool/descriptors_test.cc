// Running out of descriptors is an error a program handles, not misuse: with
// none or few left, starting a process pool or a Process answers Python's
// OSError ("[Errno 24] Too many open files"), which is what CPython 3.13's
// ProcessPoolExecutor raises at every such count; once descriptors are free
// again, the next pool works. Each case runs in a child process of its own,
// so that the fork server starts inside the shortage.

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "base/errors.h"
#include "gtest/gtest.h"
#include "multiprocessing/pool/executor.h"
#include "multiprocessing/process/connection.h"
#include "multiprocessing/process/internal/fork_server.h"
#include "multiprocessing/process/process.h"

namespace pyconc::futures {
namespace {

// Exit codes of a child.
constexpr int kRefused = 0;  // The start answered EMFILE's OSError.
constexpr int kWorked = 3;   // There were enough descriptors after all.
constexpr int kWrong = 1;    // Anything else (printed on stderr).

int Twice(int x) { return 2 * x; }

// Opens /dev/null until the (lowered) limit is reached, then closes `free` of
// them; answers what is left open.
std::vector<int> OccupyAllBut(int free) {
  const rlimit limit = {64, 64};
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) std::abort();
  std::vector<int> fillers;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) {
    fillers.push_back(fd);
  }
  for (int i = 0; i < free && !fillers.empty(); ++i) {
    ::close(fillers.back());
    fillers.pop_back();
  }
  return fillers;
}

void Release(std::vector<int>& fillers) {
  for (const int fd : fillers) ::close(fd);
  fillers.clear();
}

bool IsTooManyOpenFiles(const absl::Status& status) {
  return IsError(status, PythonError::kOSError) &&
         status.code() == absl::StatusCode::kResourceExhausted &&
         absl::StrContains(status.message(), "[Errno 24] Too many open files");
}

// A pool of one worker doubles 21; kRefused, kWorked or kWrong.
int SubmitToNewPool() {
  ProcessPoolExecutor pool({.max_workers = 1});
  auto future = pool.Submit(&Twice, 21);
  if (future.ok()) return future->Result() == 42 ? kWorked : kWrong;
  if (IsTooManyOpenFiles(future.status())) return kRefused;
  std::fprintf(stderr, "Submit(): %s\n", future.status().ToString().c_str());
  return kWrong;
}

void ReadOne(multiprocessing::Connection conn) { (void)conn.Recv<int>(); }

// Under --config=asan, UBSan checks an object's dynamic type the first time
// it meets a (type, vtable) pair by writing the vtable to a pipe, which needs
// two descriptors: starved, it would report every new pair as an invalid
// vptr. So the child first runs a pool and a Process while descriptors are
// plenty, then stops that fork server and waits for its reader thread to
// leave (the next server needs a single-threaded process).
#if defined(__SANITIZE_ADDRESS__)
int CountThreads() {
  int count = 0;
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) std::abort();
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count;
}
#endif

void WarmUp() {
#if defined(__SANITIZE_ADDRESS__)
  {
    ProcessPoolExecutor pool({.max_workers = 1});
    auto future = pool.Submit(&Twice, 1);
    if (!future.ok() || future->Result() != 2) std::abort();
  }
  auto [parent, child] = multiprocessing::Pipe();
  multiprocessing::Process process(&ReadOne, child);
  if (!process.Start().ok() || !parent.Send(1).ok()) std::abort();
  process.Join();
  multiprocessing::internal::ShutdownForkServer();
  while (CountThreads() > 1) ::sched_yield();
  // And the one object only a refused duplicate makes.
  (void)multiprocessing::internal::SerializeError(
      multiprocessing::internal::FdExportError(EMFILE, -1));
#endif
}

// Runs `body` in a fresh copy of this test (a death test in "threadsafe"
// style re-executes the binary, so the child has no thread but its own, under
// ThreadSanitizer too) and expects it to exit with one of `codes`.
void ExpectChildExitsWith(const std::function<int()>& body,
                          std::vector<int> codes) {
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer symbolizes a report by opening the binary, and applies
  // pyconc's suppressions (a known report inside Abseil's Waiter::Post) only
  // to a symbolized one: starved of descriptors, it reports that one.
  GTEST_SKIP() << "ThreadSanitizer cannot apply its suppressions without a "
                  "free descriptor";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        WarmUp();
        const int code = body();
        std::fflush(nullptr);
        std::exit(code);  // Its fork server, if any, is shut down at exit.
      },
      [codes](int status) {
        return WIFEXITED(status) &&
               std::find(codes.begin(), codes.end(), WEXITSTATUS(status)) !=
                   codes.end();
      },
      "");
}

TEST(DescriptorsTest, APoolStartedWithFewDescriptorsAnswersOSError) {
  // 0-1 free aborted with "has 0 threads", 3-4 free with "cannot duplicate
  // descriptor 6"; every count now answers EMFILE or works. Each of the
  // pool's steps runs out somewhere in 0-4 (eventfd, listing the threads, the
  // fork server's socket, a worker's pipe, duplicating its end); 12 are
  // enough.
  for (int free = 0; free <= 12; ++free) {
    SCOPED_TRACE(::testing::Message() << free << " free descriptors");
    ExpectChildExitsWith(
        [free] {
          std::vector<int> fillers = OccupyAllBut(free);
          const int first = SubmitToNewPool();
          Release(fillers);
          // Descriptors are back: the next pool works.
          const int second = SubmitToNewPool();
          if (second != kWorked) return kWrong;
          return first;
        },
        free <= 1    ? std::vector<int>{kRefused}
        : free == 12 ? std::vector<int>{kWorked}
                     : std::vector<int>{kRefused, kWorked});
  }
}

TEST(DescriptorsTest, AProcessWhoseConnectionCannotBeDuplicatedAnswersOSError) {
  ExpectChildExitsWith(
      [] {
        if (!multiprocessing::StartForkServer().ok()) return kWrong;
        auto [parent, child] = multiprocessing::Pipe();
        std::vector<int> fillers = OccupyAllBut(0);
        multiprocessing::Process refused(&ReadOne, child);
        const absl::Status status = refused.Start();
        Release(fillers);
        if (!IsTooManyOpenFiles(status) ||
            !absl::StrContains(status.message(),
                               "cannot duplicate descriptor")) {
          std::fprintf(stderr, "Start(): %s\n", status.ToString().c_str());
          return kWrong;
        }
        // It keeps its error; a new Process with the same end starts.
        if (refused.Start() != status) return kWrong;
        multiprocessing::Process started(&ReadOne, child);
        if (!started.Start().ok() || !parent.Send(1).ok()) return kWrong;
        started.Join();
        return started.ExitCode() == 0 ? kRefused : kWrong;
      },
      {kRefused});
}

void Nothing() {}

// A Process started with few descriptors free either answers EMFILE's
// OSError or starts with a sentinel that works (before, with none left after
// the start, sentinel() was -1).
TEST(DescriptorsTest, AStartedProcessAlwaysHasASentinel) {
  ExpectChildExitsWith(
      [] {
        if (!multiprocessing::StartForkServer().ok()) return kWrong;
        for (int free = 0; free <= 4; ++free) {
          std::vector<int> fillers = OccupyAllBut(free);
          multiprocessing::Process process(&Nothing);
          const absl::Status status = process.Start();
          if (!status.ok()) {
            Release(fillers);
            if (!IsTooManyOpenFiles(status)) {
              std::fprintf(stderr, "Start(): %s\n", status.ToString().c_str());
              return kWrong;
            }
            continue;
          }
          const int sentinel = process.sentinel();
          Release(fillers);
          if (sentinel < 0 || multiprocessing::connection::Wait({sentinel}) !=
                                  std::vector<int>{sentinel}) {
            std::fprintf(stderr, "%d free: sentinel %d\n", free, sentinel);
            return kWrong;
          }
          process.Join();
          if (process.ExitCode() != 0) return kWrong;
        }
        return kRefused;
      },
      {kRefused});
}

TEST(DescriptorsTest, StartForkServerWithNoDescriptorAnswersOSError) {
  ExpectChildExitsWith(
      [] {
        std::vector<int> fillers = OccupyAllBut(0);
        const absl::Status status = multiprocessing::StartForkServer();
        Release(fillers);
        if (!IsTooManyOpenFiles(status)) {
          std::fprintf(stderr, "StartForkServer(): %s\n",
                       status.ToString().c_str());
          return kWrong;
        }
        return multiprocessing::StartForkServer().ok() ? kRefused : kWrong;
      },
      {kRefused});
}

}  // namespace
}  // namespace pyconc::futures
