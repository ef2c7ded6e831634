// Test support: checks that no test leaves a child process behind.
//
// Linking this library makes the test process a child subreaper, so that a
// descendant orphaned by a dying fork server comes back to the test rather
// than to init, where it would go unseen. NoOrphansTest's TearDown checks
// that the fork server has no children left (none running, no zombie) and
// that the test process has no child but the fork server; at the end of the
// run the fork server is shut down and waitpid(-1) must answer ECHILD.

#ifndef PYCONC_TESTS_MULTIPROCESSING_PROCESS_NO_ORPHANS_H_
#define PYCONC_TESTS_MULTIPROCESSING_PROCESS_NO_ORPHANS_H_

#include <sys/types.h>

#include <vector>

#include "gtest/gtest.h"

namespace pyconc::multiprocessing::testing {

// The pids whose parent is `parent`, zombies included (from /proc).
std::vector<pid_t> ChildrenOf(pid_t parent);

// A fixture whose TearDown fails the test when a child process is left over.
class NoOrphansTest : public ::testing::Test {
 protected:
  void TearDown() override;
};

}  // namespace pyconc::multiprocessing::testing

#endif  // PYCONC_TESTS_MULTIPROCESSING_PROCESS_NO_ORPHANS_H_
