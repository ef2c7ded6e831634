// Streams: StreamReader's buffer semantics fed by hand, then real connections
// over loopback TCP, Unix sockets and socket pairs. Ported tests name their
// CPython original (Lib/test/test_asyncio/test_streams.py, 3.13).
#include "asyncio/streams.h"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "asyncio/errors.h"
#include "asyncio/loop.h"
#include "asyncio/run.h"
#include "asyncio/sleep.h"
#include "asyncio/sockets.h"
#include "asyncio/task.h"
#include "asyncio/timeouts.h"
#include "base/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyconc::asyncio {
namespace {

using ::testing::HasSubstr;

constexpr absl::string_view kData = "line1\nline2\nline3\n";  // CPython's DATA

// Lets the loop run `n` iterations (so callbacks and woken tasks run).
Coroutine<void> Yield(int n = 1) {
  for (int i = 0; i < n; ++i) co_await Sleep(absl::ZeroDuration());
}

// ------------------------------------------------- StreamReader, fed by hand

// test_read_zero
TEST(StreamReaderTest, ReadZeroReturnsNothingAndKeepsTheBuffer) {
  asyncio::Run([]() -> Coroutine<void> {
    StreamReader stream;
    stream.FeedData(kData);
    absl::StatusOr<std::string> data = co_await stream.Read(0);
    EXPECT_EQ(*data, "");
    data = co_await stream.Read(100);
    EXPECT_EQ(*data, kData);
  }());
}

// test_read: a read waits for data, and returns what there is.
TEST(StreamReaderTest, ReadWaitsForDataAndReturnsWhatCame) {
  asyncio::Run([]() -> Coroutine<void> {
    StreamReader stream;
    Task<absl::StatusOr<std::string>> read = CreateTask(stream.Read(30));
    co_await Yield();
    EXPECT_FALSE(read.Done());
    stream.FeedData(kData);
    absl::StatusOr<std::string> data = co_await read;
    EXPECT_EQ(*data, kData);
  }());
}

// test_read_line_breaks: Read(n) returns at most n bytes.
TEST(StreamReaderTest, ReadReturnsAtMostN) {
  asyncio::Run([]() -> Coroutine<void> {
    StreamReader stream;
    stream.FeedData("line1");
    stream.FeedData("line2");
    absl::StatusOr<std::string> a = co_await stream.Read(5);
    absl::StatusOr<std::string> b = co_await stream.Read(5);
    EXPECT_EQ(*a, "line1");
    EXPECT_EQ(*b, "line2");
  }());
}

// test_read_eof and test_read_until_eof.
TEST(StreamReaderTest, ReadAtEofAndReadToTheEnd) {
  asyncio::Run([]() -> Coroutine<void> {
    StreamReader stream;
    Task<absl::StatusOr<std::string>> read = CreateTask(stream.Read(1024));
    co_await Yield();
    stream.FeedEof();
    EXPECT_EQ(*co_await read, "");

    StreamReader all;
    Task<absl::StatusOr<std::string>> rest = CreateTask(all.Read());
    co_await Yield();
    all.FeedData("chunk1\n");
    all.FeedData("chunk2");
    co_await Yield();
    EXPECT_FALSE(rest.Done());
    all.FeedEof();
    EXPECT_EQ(*co_await rest, "chunk1\nchunk2");
    EXPECT_TRUE(all.AtEof());
  }());
}

// test_read_exception and test_exception_waiter: the error reaches a waiting
// read, and every later read, even with bytes in the buffer.
TEST(StreamReaderTest, AnErrorReachesTheWaiterAndLaterReads) {
  asyncio::Run([]() -> Coroutine<void> {
    StreamReader stream;
    Task<absl::StatusOr<std::string>> read = CreateTask(stream.ReadLine());
    co_await Yield();
    stream.SetException(MakeError(PythonError::kConnectionResetError, "gone"));
    absl::StatusOr<std::string> got = co_await read;
    EXPECT_TRUE(IsError(got.status(), PythonError::kConnectionResetError));
    stream.FeedData("line\n");
    got = co_await stream.ReadLine();
    EXPECT_TRUE(IsError(got.status(), PythonError::kConnectionResetError));
    got = co_await stream.ReadExactly(2);
    EXPECT_TRUE(IsError(got.status(), PythonError::kOSError));
  }());
}

// test_readline and test_readline_eof.
TEST(StreamReaderTest, ReadLineGathersChunksAndReturnsTheRestAtEof) {
  asyncio::Run([]() -> Coroutine<void> {
    StreamReader stream;
    stream.FeedData("chunk1 ");
    Task<absl::StatusOr<std::string>> read = CreateTask(stream.ReadLine());
    co_await Yield();
    stream.FeedData("chunk2 ");
    stream.FeedData("chunk3 ");
    stream.FeedData("\n chunk4");
    EXPECT_EQ(*co_await read, "chunk1 chunk2 chunk3 \n");
    stream.FeedEof();
    EXPECT_EQ(*co_await stream.ReadLine(), " chunk4");
    EXPECT_EQ(*co_await stream.ReadLine(), "");
    EXPECT_TRUE(stream.AtEof());
  }());
}

// test_readline_limit_with_existing_data
TEST(StreamReaderTest, ReadLineOverTheLimitDropsTheLine) {
  asyncio::Run([]() -> Coroutine<void> {
    StreamReader stream(3);
    stream.FeedData("li");
    stream.FeedData("ne1\nline2\n");
    absl::StatusOr<std::string> line = co_await stream.ReadLine();
    EXPECT_TRUE(IsError(line.status(), PythonError::kValueError));
    EXPECT_THAT(line.status().message(),
                HasSubstr("Separator is found, but chunk is longer than "
                          "limit"));
    // The buffer keeps what followed the long line.
    EXPECT_EQ(*co_await stream.Read(100), "line2\n");

    StreamReader partial(3);
    partial.FeedData("li");
    partial.FeedData("ne1");
    partial.FeedData("li");
    line = co_await partial.ReadLine();
    EXPECT_TRUE(IsError(line.status(), PythonError::kValueError));
    EXPECT_THAT(line.status().message(), HasSubstr("Separator is not found"));
    partial.FeedEof();
    EXPECT_EQ(*co_await partial.Read(), "");  // The buffer was emptied.
  }());
}

// test_readline_limit: strictness of the limit, data arriving after the call.
TEST(StreamReaderTest, ReadLineLimitIsStrict) {
  asyncio::Run([]() -> Coroutine<void> {
    StreamReader stream(7);
    Task<absl::StatusOr<std::string>> read = CreateTask(stream.ReadLine());
    co_await Yield();
    stream.FeedData("chunk1");
    stream.FeedData("chunk2\n");
    stream.FeedData("chunk3\n");
    stream.FeedEof();
    absl::StatusOr<std::string> line = co_await read;
    EXPECT_TRUE(IsError(line.status(), PythonError::kValueError));
    EXPECT_EQ(*co_await stream.Read(), "chunk3\n");

    StreamReader strict(7);
    strict.FeedData("1234567\n");
    EXPECT_EQ(*co_await strict.ReadLine(), "1234567\n");
    strict.FeedData("12345678\n");
    line = co_await strict.ReadLine();
    EXPECT_TRUE(IsError(line.status(), PythonError::kValueError));
    strict.FeedData("12345678");
    line = co_await strict.ReadLine();
    EXPECT_TRUE(IsError(line.status(), PythonError::kValueError));
    strict.FeedEof();
    EXPECT_EQ(*co_await strict.Read(), "");
  }());
}

// test_at_eof
TEST(StreamReaderTest, AtEofOnceEndedAndEmpty) {
  asyncio::Run([]() -> Coroutine<void> {
    StreamReader stream;
    EXPECT_FALSE(stream.AtEof());
    stream.FeedData("some data\n");
    EXPECT_FALSE(stream.AtEof());
    (void)co_await stream.ReadLine();
    EXPECT_FALSE(stream.AtEof());
    stream.FeedData("some data\n");
    stream.FeedEof();
    (void)co_await stream.ReadLine();
    EXPECT_TRUE(stream.AtEof());
  }());
}

// test_readuntil_separator and test_readuntil_multi_chunks
TEST(StreamReaderTest, ReadUntilFindsASeparatorAcrossChunks) {
  asyncio::Run([]() -> Coroutine<void> {
    StreamReader stream;
    stream.FeedData("lineAAA");
    EXPECT_EQ(*co_await stream.ReadUntil("AAA"), "lineAAA");
    Task<absl::StatusOr<std::string>> read =
        CreateTask(stream.ReadUntil("AAA"));
    co_await Yield();
    stream.FeedData("QWEaa");
    stream.FeedData("XYaa");
    stream.FeedData("a");
    co_await Yield();
    stream.FeedData("aAAA");
    EXPECT_EQ(*co_await read, "QWEaaXYaaaaAAA");
  }());
}

// test_readuntil_eof: IncompleteReadError with the partial bytes.
TEST(StreamReaderTest, ReadUntilAtEofIsIncompleteReadError) {
  asyncio::Run([]() -> Coroutine<void> {
    StreamReader stream;
    stream.FeedData("some dataAA");
    stream.FeedEof();
    absl::StatusOr<std::string> got = co_await stream.ReadUntil("AAA");
    EXPECT_TRUE(IsError(got.status(), PythonError::kIncompleteReadError));
    EXPECT_TRUE(IsError(got.status(), PythonError::kEOFError));
    EXPECT_THAT(got.status().message(), HasSubstr("undefined expected bytes"));
    EXPECT_EQ(IncompleteReadPartial(got.status()), "some dataAA");
    EXPECT_EQ(*co_await stream.Read(), "");
  }());
}

// test_readuntil_limit_found_sep: over the limit, the bytes stay.
TEST(StreamReaderTest, ReadUntilOverTheLimitKeepsTheBytes) {
  asyncio::Run([]() -> Coroutine<void> {
    StreamReader stream(3);
    stream.FeedData("some dataAA");
    absl::StatusOr<std::string> got = co_await stream.ReadUntil("AAA");
    EXPECT_TRUE(IsError(got.status(), PythonError::kLimitOverrunError));
    EXPECT_THAT(got.status().message(), HasSubstr("not found"));
    EXPECT_EQ(LimitOverrunConsumed(got.status()), 9u);
    stream.FeedData("A");
    got = co_await stream.ReadUntil("AAA");
    EXPECT_TRUE(IsError(got.status(), PythonError::kLimitOverrunError));
    EXPECT_THAT(got.status().message(), HasSubstr("is found"));
    EXPECT_EQ(LimitOverrunConsumed(got.status()), 9u);
    EXPECT_EQ(*co_await stream.Read(100), "some dataAAA");
  }());
}

// test_readexactly and test_readexactly_eof.
TEST(StreamReaderTest, ReadExactlyWaitsForAllOrGivesThePartialAtEof) {
  asyncio::Run([]() -> Coroutine<void> {
    StreamReader stream;
    const size_t n = 2 * kData.size();
    Task<absl::StatusOr<std::string>> read = CreateTask(stream.ReadExactly(n));
    co_await Yield();
    stream.FeedData(kData);
    stream.FeedData(kData);
    stream.FeedData(kData);
    EXPECT_EQ(*co_await read, absl::StrCat(kData, kData));
    EXPECT_EQ(*co_await stream.Read(100), kData);

    StreamReader short_stream;
    read = CreateTask(short_stream.ReadExactly(n));
    co_await Yield();
    short_stream.FeedData(kData);
    short_stream.FeedEof();
    absl::StatusOr<std::string> got = co_await read;
    EXPECT_TRUE(IsError(got.status(), PythonError::kIncompleteReadError));
    EXPECT_EQ(got.status().message(),
              "asyncio.IncompleteReadError: 18 bytes read on a total of 36 "
              "expected bytes");
    EXPECT_EQ(IncompleteReadPartial(got.status()), kData);
    EXPECT_TRUE(short_stream.AtEof());
  }());
}

// A read cancelled in the middle loses no bytes: what arrived is there for
// the next read, for ReadExactly, ReadUntil and Read() to the end.
TEST(StreamReaderTest, CancelledReadsLoseNoBytes) {
  asyncio::Run([]() -> Coroutine<void> {
    StreamReader stream;
    Task<absl::StatusOr<std::string>> read = CreateTask(stream.ReadExactly(10));
    co_await Yield();
    stream.FeedData("abcd");
    co_await Yield(2);  // The read woke, saw 4 bytes, and waits again.
    read.Cancel();
    co_await Yield(2);
    EXPECT_TRUE(read.Cancelled());
    stream.FeedData("efghij");
    EXPECT_EQ(*co_await stream.ReadExactly(10), "abcdefghij");

    read = CreateTask(stream.ReadUntil("\n"));
    co_await Yield();
    stream.FeedData("par");
    co_await Yield(2);
    read.Cancel();
    co_await Yield(2);
    stream.FeedData("tial\n");
    EXPECT_EQ(*co_await stream.ReadLine(), "partial\n");

    read = CreateTask(stream.Read());
    co_await Yield();
    stream.FeedData("to the ");
    co_await Yield(2);  // Read() took these bytes and waits for more.
    read.Cancel();
    co_await Yield(2);
    EXPECT_TRUE(read.Cancelled());
    stream.FeedData("end");
    stream.FeedEof();
    EXPECT_EQ(*co_await stream.Read(), "to the end");
  }());
}

// ------------------------------------------------------ Real connections

// A directory of this test process's own for its Unix sockets, removed when
// the process exits. Not TEST_TMPDIR: a Unix socket path has at most 107
// bytes. Not named by the pid: Bazel's sandboxed runs of one test share
// /tmp, and each has a pid namespace of its own, so their pids repeat.
const std::string& SocketDir() {
  static const std::string* const dir = [] {
    char name[] = "/tmp/pyconc-streams-XXXXXX";
    if (mkdtemp(name) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    static const pid_t owner = getpid();
    std::atexit([] {
      if (getpid() == owner) std::filesystem::remove_all(SocketDir());
    });
    return new std::string(name);
  }();
  return *dir;
}

std::string TempPath(absl::string_view name) {
  return absl::StrCat(SocketDir(), "/", name);
}

// The port of a listening socket that is then closed: nobody listens there.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// Echoes lines until the end of the stream, then closes.
Coroutine<void> EchoLines(StreamReader reader, StreamWriter writer) {
  while (true) {
    absl::StatusOr<std::string> line = co_await reader.ReadLine();
    if (!line.ok() || line->empty()) break;
    writer.Write(*line);
    absl::Status drained = co_await writer.Drain();
    if (!drained.ok()) break;
  }
  writer.Close();
  (void)co_await writer.WaitClosed();
}

// test_start_server and test_open_connection: a server on an ephemeral port,
// a client that talks to it, the addresses each side sees.
TEST(StreamsTest, StartServerAndOpenConnectionTalk) {
  asyncio::Run([]() -> Coroutine<void> {
    absl::StatusOr<Server> server =
        co_await StartServer(EchoLines, "127.0.0.1", 0);
    EXPECT_TRUE(server.ok()) << server.status();
    std::vector<SocketAddress> sockets = server->Sockets();
    EXPECT_EQ(sockets.size(), 1u);
    EXPECT_EQ(sockets[0].family, AF_INET);
    EXPECT_EQ(sockets[0].host, "127.0.0.1");
    EXPECT_NE(sockets[0].port, 0);
    EXPECT_TRUE(server->IsServing());

    absl::StatusOr<StreamPair> conn =
        co_await OpenConnection("127.0.0.1", sockets[0].port);
    EXPECT_TRUE(conn.ok()) << conn.status();
    auto [reader, writer] = *std::move(conn);
    EXPECT_EQ(writer.GetExtraInfo("peername")->ToString(),
              sockets[0].ToString());
    EXPECT_EQ(writer.GetExtraInfo("sockname")->host, "127.0.0.1");
    EXPECT_FALSE(writer.GetExtraInfo("cipher").has_value());
    writer.Write(kData);
    EXPECT_EQ(*co_await reader.ReadLine(), "line1\n");
    EXPECT_EQ(*co_await reader.ReadExactly(6), "line2\n");
    EXPECT_EQ(*co_await reader.ReadUntil("3\n"), "line3\n");
    writer.WriteEof();  // The server sees the end and closes.
    EXPECT_EQ(*co_await reader.Read(), "");
    EXPECT_TRUE(reader.AtEof());
    writer.Close();
    EXPECT_TRUE(writer.IsClosing());
    EXPECT_TRUE((co_await writer.WaitClosed()).ok());
    server->Close();
    EXPECT_FALSE(server->IsServing());
    EXPECT_TRUE(server->Sockets().empty());
    co_await server->WaitClosed();
  }());
}

// Name resolution off the loop: "localhost" goes through getaddrinfo on the
// default executor.
TEST(StreamsTest, OpenConnectionResolvesAHostName) {
  asyncio::Run([]() -> Coroutine<void> {
    absl::StatusOr<Server> server =
        co_await StartServer(EchoLines, "127.0.0.1", 0);
    const int port = server->Sockets()[0].port;
    absl::StatusOr<StreamPair> conn =
        co_await OpenConnection("localhost", port);
    EXPECT_TRUE(conn.ok()) << conn.status();
    auto [reader, writer] = *std::move(conn);
    writer.Write("hello\n");
    EXPECT_EQ(*co_await reader.ReadLine(), "hello\n");
    writer.Close();
    (void)co_await writer.WaitClosed();
    server->Close();
    co_await server->WaitClosed();
  }());
}

// test_open_connection_error: nobody listens.
TEST(StreamsTest, ConnectionRefusedIsConnectionRefusedError) {
  const int port = FreePort();
  asyncio::Run([port]() -> Coroutine<void> {
    absl::StatusOr<StreamPair> conn =
        co_await OpenConnection("127.0.0.1", port);
    EXPECT_TRUE(IsError(conn.status(), PythonError::kConnectionRefusedError))
        << conn.status();
    EXPECT_THAT(conn.status().message(),
                HasSubstr(absl::StrCat("Connect call failed ('127.0.0.1', ",
                                       port, ")")));
  }());
}

TEST(StreamsTest, AnUnknownHostIsAnOSError) {
  asyncio::Run([]() -> Coroutine<void> {
    absl::StatusOr<StreamPair> conn =
        co_await OpenConnection("no-such-host.invalid", 80);
    EXPECT_TRUE(IsError(conn.status(), PythonError::kOSError)) << conn.status();
    EXPECT_THAT(conn.status().message(), HasSubstr("socket.gaierror"));
  }());
}

// test_start_unix_server and test_open_unix_connection; the socket file goes
// when the server closes.
TEST(StreamsTest, UnixServerAndConnection) {
  const std::string path = TempPath("unix-echo");
  asyncio::Run([&path]() -> Coroutine<void> {
    absl::StatusOr<Server> server = co_await StartUnixServer(EchoLines, path);
    EXPECT_TRUE(server.ok()) << server.status();
    EXPECT_EQ(server->Sockets()[0].ToString(), absl::StrCat("'", path, "'"));
    absl::StatusOr<StreamPair> conn = co_await OpenUnixConnection(path);
    EXPECT_TRUE(conn.ok()) << conn.status();
    auto [reader, writer] = *std::move(conn);
    writer.Write("over unix\n");
    EXPECT_EQ(*co_await reader.ReadLine(), "over unix\n");
    writer.Close();
    (void)co_await writer.WaitClosed();
    server->Close();
    co_await server->WaitClosed();
  }());
  EXPECT_NE(access(path.c_str(), F_OK), 0);
}

// test_open_unix_connection_error
TEST(StreamsTest, UnixConnectionToNowhereIsFileNotFoundError) {
  const std::string path = TempPath("nobody-here");
  asyncio::Run([&path]() -> Coroutine<void> {
    absl::StatusOr<StreamPair> conn = co_await OpenUnixConnection(path);
    EXPECT_TRUE(IsError(conn.status(), PythonError::kFileNotFoundError))
        << conn.status();
  }());
}

// The writer blocks in Drain while the peer reads nothing, and returns once
// the peer has read enough; every byte arrives, in order.
TEST(StreamsTest, DrainWaitsForASlowReader) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  asyncio::Run([&fds]() -> Coroutine<void> {
    auto [unused_reader, writer] = OpenConnectionOnSocket(fds[0]);
    auto [reader, peer_writer] = OpenConnectionOnSocket(fds[1]);
    std::string data(4 << 20, '\0');
    for (size_t i = 0; i < data.size(); ++i) data[i] = char('a' + i % 23);
    writer.Write(data);
    EXPECT_GT(writer.GetWriteBufferSize(), 64u * 1024);
    Task<absl::Status> drain = CreateTask(writer.Drain());
    co_await Yield(5);
    EXPECT_FALSE(drain.Done());  // Nobody has read anything.
    // The peer reads one megabyte: still above the low-water mark.
    absl::StatusOr<std::string> first = co_await reader.ReadExactly(1 << 20);
    EXPECT_EQ(*first, data.substr(0, 1 << 20));
    co_await Yield(5);
    EXPECT_FALSE(drain.Done());  // Still above the low-water mark.
    absl::StatusOr<std::string> rest =
        co_await reader.ReadExactly(data.size() - (1 << 20));
    EXPECT_TRUE((co_await drain).ok());
    EXPECT_LE(writer.GetWriteBufferSize(), 16u * 1024);
    writer.Close();
    EXPECT_EQ(*co_await reader.Read(), "");
    EXPECT_EQ(*first + *rest, data);
  }());
}

// Reading pauses when the buffer is full and resumes as it is read: a
// megabyte passes through a reader whose limit is 1 KiB.
TEST(StreamsTest, ReadingPausesAndResumesWithASmallLimit) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  asyncio::Run([&fds]() -> Coroutine<void> {
    auto [unused_reader, writer] = OpenConnectionOnSocket(fds[0]);
    auto [reader, unused_writer] = OpenConnectionOnSocket(fds[1], 1024);
    std::string data(1 << 20, 'x');
    for (size_t i = 0; i < data.size(); i += 1000) data[i] = '\n';
    writer.Write(data);
    writer.Close();
    std::string got;
    while (true) {
      absl::StatusOr<std::string> line = co_await reader.ReadLine();
      EXPECT_TRUE(line.ok()) << line.status();
      if (!line.ok() || line->empty()) break;
      got += *line;
    }
    EXPECT_EQ(got, data);
  }());
}

// A read cancelled while bytes are arriving over a connection loses none.
TEST(StreamsTest, CancelInTheMiddleOfAReadThenReadAgainGetsAllBytes) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  asyncio::Run([&fds]() -> Coroutine<void> {
    auto [unused_reader, writer] = OpenConnectionOnSocket(fds[0]);
    auto [reader, unused_writer] = OpenConnectionOnSocket(fds[1]);
    Task<absl::StatusOr<std::string>> read = CreateTask(reader.ReadExactly(6));
    co_await Yield();
    writer.Write("abc");
    co_await Yield(3);
    read.Cancel("give up");
    co_await Yield(2);
    EXPECT_TRUE(read.Cancelled());
    writer.Write("def");
    EXPECT_EQ(*co_await reader.ReadExactly(6), "abcdef");
  }());
}

// A peer that sends nothing: a read under WaitFor ends in TimeoutError, and
// what had arrived of the line is still there for the next read.
TEST(StreamsTest, ASilentPeerTimesOutAndLosesNoBytes) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  asyncio::Run([&fds]() -> Coroutine<void> {
    auto [unused_reader, writer] = OpenConnectionOnSocket(fds[0]);
    auto [reader, unused_writer] = OpenConnectionOnSocket(fds[1]);
    writer.Write("half a ");
    absl::StatusOr<absl::StatusOr<std::string>> line =
        co_await WaitFor(reader.ReadLine(), absl::Milliseconds(20));
    EXPECT_TRUE(IsError(line.status(), PythonError::kTimeoutError))
        << line.status();
    writer.Write("line\n");
    absl::StatusOr<std::string> whole = co_await reader.ReadLine();
    EXPECT_EQ(*whole, "half a line\n");
  }());
}

// test_async_writer_api_exception_after_close
TEST(StreamsTest, DrainAfterCloseIsConnectionResetError) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  asyncio::Run([&fds]() -> Coroutine<void> {
    auto [reader, writer] = OpenConnectionOnSocket(fds[0]);
    writer.Close();
    writer.Write("data");
    absl::Status drained = co_await writer.Drain();
    EXPECT_TRUE(IsError(drained, PythonError::kConnectionResetError))
        << drained;
    EXPECT_THAT(drained.message(), HasSubstr("Connection lost"));
  }());
  close(fds[1]);
}

// test_eof_feed_when_closing_writer: after Close and WaitClosed, the local
// reader is at the end.
TEST(StreamsTest, ClosingTheWriterEndsTheReader) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  asyncio::Run([&fds]() -> Coroutine<void> {
    auto [reader, writer] = OpenConnectionOnSocket(fds[0]);
    writer.Close();
    EXPECT_TRUE((co_await writer.WaitClosed()).ok());
    EXPECT_TRUE(reader.AtEof());
    EXPECT_EQ(*co_await reader.Read(), "");
  }());
  close(fds[1]);
}

// test_drain_raises: writing to a peer that went away ends in an error, not
// a loop that never yields.
TEST(StreamsTest, WriteAndDrainToAClosedPeerFails) {
  asyncio::Run([]() -> Coroutine<void> {
    auto close_at_once = [](StreamReader,
                            StreamWriter writer) -> Coroutine<void> {
      writer.Close();
      co_return;
    };
    absl::StatusOr<Server> server =
        co_await StartServer(close_at_once, "127.0.0.1", 0);
    absl::StatusOr<StreamPair> conn =
        co_await OpenConnection("127.0.0.1", server->Sockets()[0].port);
    auto [reader, writer] = *std::move(conn);
    absl::Status status;
    while (status.ok()) {
      writer.Write("foo\n");
      status = co_await writer.Drain();
    }
    EXPECT_TRUE(IsError(status, PythonError::kConnectionResetError) ||
                IsError(status, PythonError::kBrokenPipeError))
        << status;
    server->Close();
    co_await server->WaitClosed();
  }());
}

// A peer that resets the connection: the reader keeps ConnectionResetError.
TEST(StreamsTest, ResetByPeerIsConnectionResetError) {
  asyncio::Run([]() -> Coroutine<void> {
    // The server's side is a raw socket here, to send a reset.
    const int listener =
        socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    listen(listener, 1);
    socklen_t length = sizeof(address);
    getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
    absl::StatusOr<StreamPair> conn =
        co_await OpenConnection("127.0.0.1", ntohs(address.sin_port));
    auto [reader, writer] = *std::move(conn);
    absl::StatusOr<int> peer = co_await SockAccept(listener);
    linger hard{1, 0};
    setsockopt(*peer, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    close(*peer);
    close(listener);
    absl::StatusOr<std::string> got = co_await reader.Read(10);
    EXPECT_TRUE(IsError(got.status(), PythonError::kConnectionResetError))
        << got.status();
    got = co_await reader.Read(10);
    EXPECT_TRUE(IsError(got.status(), PythonError::kConnectionResetError));
    EXPECT_TRUE(writer.IsClosing());
    absl::Status closed = co_await writer.WaitClosed();
    EXPECT_TRUE(IsError(closed, PythonError::kConnectionResetError));
  }());
}

// Server.close() ends ServeForever, which waits for the open connection and
// then throws CancelledError; afterwards nobody listens.
TEST(StreamsTest, ServerCloseEndsServeForever) {
  asyncio::Run([]() -> Coroutine<void> {
    absl::StatusOr<Server> server =
        co_await StartServer(EchoLines, "127.0.0.1", 0);
    const int port = server->Sockets()[0].port;
    Task<void> forever = CreateTask(server->ServeForever());
    absl::StatusOr<StreamPair> conn =
        co_await OpenConnection("127.0.0.1", port);
    auto [reader, writer] = *std::move(conn);
    writer.Write("one\n");
    EXPECT_EQ(*co_await reader.ReadLine(), "one\n");
    server->Close();
    co_await Yield(3);
    EXPECT_FALSE(forever.Done());  // The connection is still open.
    writer.Write("two\n");
    EXPECT_EQ(*co_await reader.ReadLine(), "two\n");
    writer.Close();
    bool cancelled = false;
    try {
      co_await forever;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    absl::StatusOr<StreamPair> again =
        co_await OpenConnection("127.0.0.1", port);
    EXPECT_TRUE(IsError(again.status(), PythonError::kConnectionRefusedError))
        << again.status();
  }());
}

// Cancelling ServeForever closes the server; CloseClients closes its
// connections, and WaitClosed returns once they are gone.
TEST(StreamsTest, CancelServeForeverAndCloseClients) {
  asyncio::Run([]() -> Coroutine<void> {
    absl::StatusOr<Server> server =
        co_await StartServer(EchoLines, "127.0.0.1", 0);
    Task<void> forever = CreateTask(server->ServeForever());
    absl::StatusOr<StreamPair> conn =
        co_await OpenConnection("127.0.0.1", server->Sockets()[0].port);
    auto [reader, writer] = *std::move(conn);
    writer.Write("ping\n");
    EXPECT_EQ(*co_await reader.ReadLine(), "ping\n");
    forever.Cancel();
    co_await Yield(2);
    EXPECT_FALSE(server->IsServing());
    server->CloseClients();
    EXPECT_EQ(*co_await reader.Read(), "");  // The server closed its side.
    co_await server->WaitClosed();
    EXPECT_TRUE(forever.Cancelled() || forever.Done());
  }());
}

int OpenDescriptors() {
  int n = 0;
  DIR* dir = opendir("/proc/self/fd");
  while (dirent* entry = readdir(dir)) n += entry->d_name[0] != '.';
  closedir(dir);
  return n;
}

// Servers, connections (closed, dropped, refused, reset) leave no descriptor
// open behind them.
TEST(StreamsTest, NoDescriptorLeaks) {
  // The first Run starts the default executor's threads and whatever the
  // runtime opens once; count from the second.
  const std::string path = TempPath("leak-check");
  auto round = [&path]() -> Coroutine<void> {
    absl::StatusOr<Server> server =
        co_await StartServer(EchoLines, "127.0.0.1", 0);
    absl::StatusOr<Server> unix_server =
        co_await StartUnixServer(EchoLines, path);
    const int port = server->Sockets()[0].port;
    for (int i = 0; i < 10; ++i) {
      absl::StatusOr<StreamPair> conn;
      if (i % 2 == 0) {
        conn = co_await OpenConnection("localhost", port);
      } else {
        conn = co_await OpenUnixConnection(path);
      }
      auto [reader, writer] = *std::move(conn);
      writer.Write("x\n");
      (void)co_await reader.ReadLine();
      if (i % 3 == 0) {
        writer.Close();
        (void)co_await writer.WaitClosed();
      }  // Otherwise the handles just go.
    }
    server->Close();
    unix_server->Close();
    co_await server->WaitClosed();
    co_await unix_server->WaitClosed();
    absl::StatusOr<StreamPair> refused =
        co_await OpenConnection("127.0.0.1", port);
    EXPECT_FALSE(refused.ok());
  };
  asyncio::Run(round());
  const int before = OpenDescriptors();
  asyncio::Run(round());
  asyncio::Run(round());
  EXPECT_EQ(OpenDescriptors(), before);
}

}  // namespace
}  // namespace pyconc::asyncio
