// A program for exit_test: starts one thread, daemon or not, then returns from
// main.
//
// Usage: exit_helper daemon|non_daemon
// The thread blocks reading stdin; when stdin reaches EOF it prints "thread
// finished". main prints "main returning" just before it returns.
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "threading/thread/thread.h"

int main(int argc, char** argv) {
  if (argc != 2 || (std::strcmp(argv[1], "daemon") != 0 &&
                    std::strcmp(argv[1], "non_daemon") != 0)) {
    std::fprintf(stderr, "usage: exit_helper daemon|non_daemon\n");
    return 2;
  }
  const bool daemon = std::strcmp(argv[1], "daemon") == 0;
  pyconc::threading::Thread reader({.daemon = daemon}, [] {
    char buffer[64];
    while (::read(STDIN_FILENO, buffer, sizeof(buffer)) > 0) {
    }
    std::printf("thread finished\n");
    std::fflush(stdout);
  });
  if (!reader.Start().ok()) return 1;
  std::printf("main returning\n");
  std::fflush(stdout);
  return 0;
}
