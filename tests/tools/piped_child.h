// PipedChild: a helper binary run by a test, with pipes to its stdin, stdout
// and stderr, so the test can talk to it while it runs (e.g. to see what
// happens when its main returns with threads or children still running).
//
// Thread-compatible.

#ifndef PYCONC_TESTS_TOOLS_PIPED_CHILD_H_
#define PYCONC_TESTS_TOOLS_PIPED_CHILD_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace pyconc::testing {

struct PipedChild {
  pid_t pid = -1;
  int stdin_fd = -1;   // The test's end of the child's stdin.
  int stdout_fd = -1;  // The test's end of the child's stdout.
  int stderr_fd = -1;  // The test's end of the child's stderr.
};

// Starts the binary at `path` (relative to the workspace root, in the test's
// runfiles) with `args`. The test closes the descriptors it no longer needs.
PipedChild SpawnPiped(const std::string& path,
                      const std::vector<std::string>& args);

// Reads `fd` until `text` has appeared (or, when `text` is empty, until EOF);
// returns all it read.
std::string ReadUntil(int fd, const std::string& text);

// Waits for `pid` to exit and returns its wait status (as waitpid gives it).
int WaitStatus(pid_t pid);

}  // namespace pyconc::testing

#endif  // PYCONC_TESTS_TOOLS_PIPED_CHILD_H_
