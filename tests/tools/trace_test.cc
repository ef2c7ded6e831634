// Every tool's --trace, through the tour (which runs each topic's tool with
// --trace when it writes its report): each timeline loads as Chrome Trace
// Event JSON, its slices nest and its async spans and flows pair, and every
// topic (their tools run threads, tasks or processes) drew slices on a named
// thread track. MPI's topic is exempt: its ranks are mpirun's processes,
// which pyconc does not start.

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/tools/run_tool.h"

namespace pyconc::testing {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The topics' titles in the order the tour ran them: the line after each
// "=====" rule, up to "   (Python: ".
std::vector<std::string> Titles(const std::string& tour_output) {
  std::vector<std::string> titles;
  const std::vector<std::string> lines = absl::StrSplit(tour_output, '\n');
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    if (!absl::StartsWith(lines[i], "=====")) continue;
    const size_t python = lines[i + 1].find("   (Python: ");
    if (python != std::string::npos) {
      titles.push_back(lines[i + 1].substr(0, python));
    }
  }
  return titles;
}

struct Slice {
  double ts, end;
  std::string name;
};

// Checks one timeline; returns the slices drawn on thread tracks that an 'M'
// event named.
int CheckTimeline(const std::string& title, const nlohmann::json& events) {
  std::map<std::pair<int64_t, int64_t>, std::vector<Slice>> tracks;
  std::map<std::pair<int64_t, int64_t>, std::string> names;
  std::map<std::string, std::map<uint64_t, std::vector<double>>> ends;
  for (const nlohmann::json& event : events) {
    const std::string phase = event.at("ph");
    const std::pair<int64_t, int64_t> track = {event.at("pid"),
                                               event.at("tid")};
    if (phase == "M") {
      names[track] = event.at("args").at("name");
      continue;
    }
    const double ts = event.at("ts");
    if (phase == "X") {
      const double dur = event.at("dur");
      EXPECT_GE(dur, 0) << title;
      tracks[track].push_back({ts, ts + dur, event.at("name")});
    } else if (phase == "b" || phase == "e" || phase == "s" || phase == "f") {
      ends[phase][event.at("id").get<uint64_t>()].push_back(ts);
    } else {
      EXPECT_EQ(phase, "C") << title;
    }
  }
  int named_slices = 0;
  for (auto& [track, slices] : tracks) {
    if (names.count(track) != 0)
      named_slices += static_cast<int>(slices.size());
    // Sorted by start, longest first: each slice ends within the ones still
    // open when it starts, or after they end.
    std::sort(slices.begin(), slices.end(), [](const Slice& a, const Slice& b) {
      return a.ts != b.ts ? a.ts < b.ts : a.end > b.end;
    });
    std::vector<const Slice*> open;
    for (const Slice& slice : slices) {
      while (!open.empty() && open.back()->end <= slice.ts) open.pop_back();
      if (!open.empty()) {
        EXPECT_LE(slice.end, open.back()->end)
            << title << ": '" << slice.name << "' overlaps '"
            << open.back()->name << "' without nesting";
      }
      open.push_back(&slice);
    }
  }
  // A flow's id is used once; spans of one id may nest (an asyncio task's
  // awaits inside its life): as many ends as begins, the k-th end no earlier
  // than the k-th begin.
  for (const auto& [begin, end] : {std::pair{"b", "e"}, std::pair{"s", "f"}}) {
    EXPECT_EQ(ends[begin].size(), ends[end].size())
        << title << ": " << begin << "/" << end << " ids";
    for (auto& [id, starts] : ends[begin]) {
      std::vector<double>& stops = ends[end][id];
      if (std::string(begin) == "s") {
        EXPECT_EQ(starts.size(), 1u) << title << ": s id " << id;
      }
      EXPECT_EQ(starts.size(), stops.size())
          << title << ": " << begin << "/" << end << " id " << id;
      if (starts.size() != stops.size()) continue;
      std::sort(starts.begin(), starts.end());
      std::sort(stops.begin(), stops.end());
      for (size_t k = 0; k < starts.size(); ++k) {
        EXPECT_LE(starts[k], stops[k]) << title << ": id " << id;
      }
    }
  }
  return named_slices;
}

TEST(ToolTraces, EveryTimelineLoadsPairsAndShowsItsThreads) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/tour");
  const ToolRun tour = RunTool("tools/tour/tour", {"--html=" + dir});
  ASSERT_EQ(tour.exit_code, 0) << tour.out << tour.err;
  const std::vector<std::string> titles = Titles(tour.out);
  ASSERT_THAT(tour.out, HasSubstr(absl::StrCat("Tour done: ", titles.size(),
                                               " topics in ")));
  ASSERT_GE(titles.size(), 20u) << tour.out;
  for (size_t i = 0; i < titles.size(); ++i) {
    const std::string& title = titles[i];
    const std::string text =
        ReadFile(absl::StrCat(dir, "/topic-", i + 1, ".json"));
    if (absl::StrContains(title, "MPI") && text.empty()) continue;  // Skipped.
    const nlohmann::json trace =
        nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(trace.is_object() && trace.contains("traceEvents"))
        << title << ": not a trace";
    const int slices = CheckTimeline(title, trace.at("traceEvents"));
    if (!absl::StrContains(title, "MPI")) {
      EXPECT_GT(slices, 0) << title << ": no slice on a named thread track";
    }
  }
}

}  // namespace
}  // namespace pyconc::testing
