// Thread on the timeline: a named track per thread, its body as one slice.

#include "base/trace.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/base/trace_testing.h"
#include "threading/thread/thread.h"

namespace pyconc::threading {
namespace {

using ::testing::UnorderedElementsAre;
using trace::testing::ExpectWellFormed;
using trace::testing::Of;
using trace::testing::TrackNames;

TEST(ThreadTrace, EachThreadIsANamedTrackWithItsBody) {
  ASSERT_TRUE(trace::Start());
  Thread first({.name = "first"}, [] { trace::Slice work("test", "work"); });
  Thread second({.name = "second"}, [] {});
  ASSERT_TRUE(first.Start().ok());
  ASSERT_TRUE(second.Start().ok());
  first.Join();
  second.Join();
  const std::vector<trace::Event> events = trace::Stop();
  ExpectWellFormed(events);

  const std::vector<trace::Event> bodies = Of(events, 'X', "thread");
  ASSERT_EQ(bodies.size(), 2u);
  std::vector<std::string> names;
  for (const trace::Event& body : bodies) {
    names.push_back(body.name);
    EXPECT_EQ((TrackNames(events)[{body.pid, body.tid}]), body.name);
    EXPECT_EQ(body.tid,
              body.name == "first" ? first.native_id() : second.native_id());
  }
  EXPECT_THAT(names, UnorderedElementsAre("first", "second"));
  // The target's own slice is inside the body.
  const std::vector<trace::Event> work = Of(events, 'X', "test");
  ASSERT_EQ(work.size(), 1u);
  EXPECT_EQ(work[0].tid, first.native_id());
}

TEST(ThreadTrace, NothingWhenOff) {
  Thread thread([] {});
  ASSERT_TRUE(thread.Start().ok());
  thread.Join();
  ASSERT_TRUE(trace::Start());
  EXPECT_TRUE(trace::Stop().empty());
}

}  // namespace
}  // namespace pyconc::threading
