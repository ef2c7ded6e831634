// Processes on the timeline: a child started while the parent records records
// too, on its own process track, and its events reach the parent's Stop().

#include "base/trace.h"

#include <sys/stat.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "multiprocessing/process/process.h"
#include "tests/base/trace_testing.h"
#include "tests/multiprocessing/process/no_orphans.h"

namespace pyconc::multiprocessing {
namespace {

using ProcessTraceTest = testing::NoOrphansTest;
using trace::testing::ExpectWellFormed;
using trace::testing::Of;
using trace::testing::TrackNames;

void Work() { trace::Slice work("test", "work"); }

TEST_F(ProcessTraceTest, ChildRecordsOnItsOwnTrack) {
  ASSERT_TRUE(trace::Start());
  Process child({.name = "child-a"}, &Work);
  ASSERT_TRUE(child.Start().ok());
  child.Join();
  ASSERT_EQ(child.ExitCode(), 0);
  const std::string directory =
      trace::internal::ChildEventsDirectory(trace::internal::SessionForChild());
  const std::vector<trace::Event> events = trace::Stop();
  ExpectWellFormed(events);
  struct stat info;
  EXPECT_NE(::stat(directory.c_str(), &info), 0)
      << "Stop() removes what children left";

  const std::vector<trace::Event> bodies = Of(events, 'X', "process");
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0].name, "child-a");
  EXPECT_EQ(bodies[0].pid, child.pid());
  EXPECT_EQ((TrackNames(events)[{bodies[0].pid, bodies[0].tid}]), "child-a");
  const std::vector<trace::Event> work = Of(events, 'X', "test");
  ASSERT_EQ(work.size(), 1u);
  EXPECT_EQ(work[0].pid, child.pid());
  EXPECT_EQ(work[0].tid, bodies[0].tid);
}

TEST_F(ProcessTraceTest, ChildStartedBeforeTheRecordingRecordsNothing) {
  Process child(&Work);
  ASSERT_TRUE(child.Start().ok());
  child.Join();
  ASSERT_TRUE(trace::Start());
  Process traced(&Work);
  ASSERT_TRUE(traced.Start().ok());
  traced.Join();
  const std::vector<trace::Event> events = trace::Stop();
  for (const trace::Event& event : events) {
    EXPECT_NE(event.pid, child.pid()) << event.name;
  }
  EXPECT_EQ(Of(events, 'X', "test").size(), 1u);
}

}  // namespace
}  // namespace pyconc::multiprocessing
