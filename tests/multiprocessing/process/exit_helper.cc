// A program for exit_test: starts one child process, reports on stdout, and
// returns from main, so that the test can watch what the exit does to it.
//
//   exit_helper exception   a child named "Thrower" throws; prints its exit
//   code exit_helper non_daemon  a child that waits for EOF on stdin, then
//   prints exit_helper daemon      a daemon child that waits for EOF on stdin
//   exit_helper daemon_block  the same, and main too waits for EOF on stdin
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "multiprocessing/process/internal/fork_server.h"
#include "multiprocessing/process/process.h"

// Never destroyed: what happens at exit must not depend on the handle. (Not
// static, so that the store stays and leak checkers see it kept.)
pyconc::multiprocessing::Process* kept_handle = nullptr;

namespace {

void Throw() { throw std::runtime_error("boom in the child"); }

// Reads stdin (inherited from the program) until EOF.
void WaitForEofOnStdin() {
  char buffer[64];
  while (::read(STDIN_FILENO, buffer, sizeof(buffer)) > 0) {
  }
  std::printf("child finished\n");
}

}  // namespace

int main(int argc, char** argv) {
  using pyconc::multiprocessing::Process;
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "exception") {
    Process p({.name = "Thrower"}, &Throw);
    if (!p.Start().ok()) return 1;
    p.Join();
    std::printf("exit code %d\n", *p.ExitCode());
    return 0;
  }
  if (mode == "non_daemon" || mode == "daemon" || mode == "daemon_block") {
    Process* p = kept_handle =
        new Process({.daemon = mode != "non_daemon"}, &WaitForEofOnStdin);
    if (!p->Start().ok()) return 1;
    std::printf("child %d server %d\nmain returning\n", p->pid(),
                pyconc::multiprocessing::internal::ForkServerPid());
    std::fflush(stdout);
    if (mode == "daemon_block") {
      char buffer[64];
      while (::read(STDIN_FILENO, buffer, sizeof(buffer)) > 0) {
      }
    }
    return 0;
  }
  std::fprintf(stderr, "unknown mode '%s'\n", mode.c_str());
  return 2;
}
