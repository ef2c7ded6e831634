// Socket awaitables over a real socketpair and a loopback TCP connection,
// ported from CPython's test_sock_lowlevel.py / test_events.py.
#include "asyncio/sockets.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/types/span.h"
#include "asyncio/errors.h"
#include "asyncio/loop.h"
#include "asyncio/run.h"
#include "asyncio/task.h"
#include "base/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyconc::asyncio {
namespace {

using ::testing::HasSubstr;

// Reads until end of stream.
Coroutine<std::string> ReadAll(int fd) {
  std::string out;
  char buffer[65536];
  while (true) {
    absl::StatusOr<size_t> n = co_await SockRecv(fd, absl::MakeSpan(buffer));
    EXPECT_TRUE(n.ok()) << n.status();
    if (!n.ok() || *n == 0) co_return out;
    out.append(buffer, *n);
  }
}

Coroutine<void> WriteAllAndClose(int fd, std::string data) {
  absl::Status status = co_await SockSendAll(fd, data);
  EXPECT_TRUE(status.ok()) << status;
  shutdown(fd, SHUT_WR);
}

TEST(SocketsTest, SocketPairCarriesFourMegabytes) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  std::string data(4 << 20, 'x');
  for (size_t i = 0; i < data.size(); i += 4096) data[i] = char('a' + i % 26);
  const std::string got = asyncio::Run([&]() -> Coroutine<std::string> {
    Task<std::string> reader = CreateTask(ReadAll(fds[0]));
    Task<void> writer = CreateTask(WriteAllAndClose(fds[1], data));
    co_await writer;
    co_return co_await reader;
  }());
  EXPECT_EQ(got, data);
  close(fds[0]);
  close(fds[1]);
}

int Listener(sockaddr_in* address) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  address->sin_family = AF_INET;
  address->sin_port = 0;
  address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(address), sizeof(*address)),
            0);
  EXPECT_EQ(listen(fd, 16), 0);
  socklen_t length = sizeof(*address);
  getsockname(fd, reinterpret_cast<sockaddr*>(address), &length);
  return fd;
}

Coroutine<std::string> Echo(int listener) {
  absl::StatusOr<int> conn = co_await SockAccept(listener);
  EXPECT_TRUE(conn.ok()) << conn.status();
  std::string got = co_await ReadAll(*conn);
  const std::string reply = "echo:" + got;
  EXPECT_TRUE((co_await SockSendAll(*conn, reply)).ok());
  close(*conn);
  co_return got;
}

TEST(SocketsTest, LoopbackTcpAcceptConnectEcho) {
  sockaddr_in address{};
  const int listener = Listener(&address);
  auto client = [&]() -> Coroutine<std::string> {
    const int fd =
        socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    absl::Status connected = co_await SockConnect(
        fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    EXPECT_TRUE(connected.ok()) << connected;
    co_await WriteAllAndClose(fd, "hello");
    std::string reply = co_await ReadAll(fd);
    close(fd);
    co_return reply;
  };
  asyncio::Run([&]() -> Coroutine<void> {
    Task<std::string> server = CreateTask(Echo(listener));
    EXPECT_EQ(co_await client(), "echo:hello");
    EXPECT_EQ(co_await server, "hello");
  }());
  close(listener);
}

TEST(SocketsTest, ConnectionRefusedIsAValue) {
  sockaddr_in address{};
  const int listener = Listener(&address);
  close(listener);  // Nobody listens on that port any more.
  const absl::Status status = asyncio::Run([&]() -> Coroutine<absl::Status> {
    const int fd =
        socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    absl::Status s = co_await SockConnect(
        fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    close(fd);
    co_return s;
  }());
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("ConnectionRefusedError"));
}

// One vocabulary: a send to a closed peer is BrokenPipeError with the code
// //base:errors gives it everywhere (kAborted, as Connection's).
TEST(SocketsTest, SendToAClosedPeerIsBrokenPipeError) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  close(fds[1]);
  const absl::Status status = asyncio::Run([&]() -> Coroutine<absl::Status> {
    co_return co_await SockSendAll(fds[0], "ping");
  }());
  close(fds[0]);
  EXPECT_TRUE(IsError(status, PythonError::kBrokenPipeError)) << status;
  EXPECT_EQ(status.code(), StatusCodeOf(PythonError::kBrokenPipeError));
  EXPECT_THAT(status.message(), HasSubstr("[Errno 32] Broken pipe: send"));
}

TEST(SocketsTest, CancellingARecvRemovesTheReader) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  EventLoop loop;
  auto body = [&]() -> Coroutine<void> {
    char buffer[8];
    absl::StatusOr<size_t> n =
        co_await SockRecv(fds[0], absl::MakeSpan(buffer));
    ADD_FAILURE() << "not cancelled: " << n.status();
  };
  Task<void> task = loop.CreateTask(body());
  loop.RunOnce();
  EXPECT_THAT(DumpTasks(loop), HasSubstr("SockRecv(fd "));
  task.Cancel("enough");
  loop.RunUntilDone(task.base());
  EXPECT_TRUE(task.Cancelled());
  EXPECT_FALSE(loop.RemoveReader(fds[0]));  // Already removed.
  close(fds[0]);
  close(fds[1]);
}

TEST(SocketsDeathTest, BlockingSocketIsValueError) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  EXPECT_DEATH(asyncio::Run([&]() -> Coroutine<void> {
                 char buffer[8];
                 absl::StatusOr<size_t> n =
                     co_await SockRecv(fds[0], absl::MakeSpan(buffer));
                 (void)n;
               }()),
               "ValueError");
}

}  // namespace
}  // namespace pyconc::asyncio
