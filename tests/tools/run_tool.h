// RunTool: runs one of pyconc's tools from a test, as a user would, and
// captures what it printed. The tool must be in the test's `data`.
//
// Thread-compatible: each call uses its own files under TEST_TMPDIR.

#ifndef PYCONC_TESTS_TOOLS_RUN_TOOL_H_
#define PYCONC_TESTS_TOOLS_RUN_TOOL_H_

#include <string>
#include <vector>

namespace pyconc::testing {

struct ToolRun {
  int exit_code = -1;  // -1 when the tool could not start or died of a signal.
  std::string out;     // Its stdout.
  std::string err;     // Its stderr.
};

// Runs the tool at `path` (relative to the workspace root, e.g.
// "threading/daemon/daemon") with `args` and waits for it to exit.
ToolRun RunTool(const std::string& path, const std::vector<std::string>& args);

}  // namespace pyconc::testing

#endif  // PYCONC_TESTS_TOOLS_RUN_TOOL_H_
