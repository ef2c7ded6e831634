// The //asyncio/echo tool, run as a learner runs it.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/run_tool.h"

namespace {

using ::pyconc::testing::RunTool;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(AsyncioEchoToolTest, ManyClientsOnOneThreadAllAnswered) {
  const auto run = RunTool("asyncio/echo/echo",
                           {"--clients=20", "--requests=50", "--size=64"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("echo over TCP loopback: 20 clients x 50 "
                                 "requests of 64 bytes, one event loop"));
  EXPECT_THAT(run.out, HasSubstr("1000 answered, 0 wrong, 0 errors"));
  EXPECT_THAT(run.out, ContainsRegex("rate +[0-9]+ requests/s"));
  EXPECT_THAT(run.out, ContainsRegex("latency +p50 [0-9.]+ .s +p99 [0-9.]+ "
                                     ".s"));
  EXPECT_THAT(run.out, ContainsRegex("open +20 connections"));
  EXPECT_THAT(run.out, ContainsRegex("in flight +20 requests"));
  EXPECT_THAT(run.out, ContainsRegex("threads +1 in this process"));
  EXPECT_THAT(run.out, HasSubstr("Shown:    yes"));
}

TEST(AsyncioEchoToolTest, UnixSocketAndLargeMessages) {
  const auto run =
      RunTool("asyncio/echo/echo",
              {"--unix", "--clients=3", "--requests=5", "--size=300000"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("echo over a Unix socket"));
  EXPECT_THAT(run.out, HasSubstr("15 answered, 0 wrong, 0 errors"));
}

TEST(AsyncioEchoToolTest, OneClientIsNotConcurrency) {
  const auto run =
      RunTool("asyncio/echo/echo", {"--clients=1", "--requests=10"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("Shown:    no"));
  EXPECT_THAT(run.out, HasSubstr("use --clients=2"));
}

TEST(AsyncioEchoToolTest, BadInputGivesOneLineAndExitCodeTwo) {
  auto run = RunTool("asyncio/echo/echo", {"--clients=0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "echo: --clients must be in [1, 1000], not 0\n");
  run = RunTool("asyncio/echo/echo", {"--clients=1000", "--requests=1000000"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("keep it at most 2000000"));
}

}  // namespace
