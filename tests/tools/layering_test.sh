#!/usr/bin/env bash
# The floor and the roof: a library includes nothing from tools/ (the tools, the tour,
# the benchmarks and the command-line helpers sit on top; what every library needs is
# in base/). Tools are the files named tool.cc and the asyncio tool packages; tests
# live in tests/. Run from the workspace (Bazel's runfiles, or the repository).
set -euo pipefail
cd "${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-.}" 2> /dev/null || true

libraries=(base threading sync queue multiprocessing asyncio)
violations=$(
  for dir in "${libraries[@]}"; do
    find -L "${dir}" \( -name '*.h' -o -name '*.cc' \) ! -name 'tool.cc' 2> /dev/null
  done | while read -r file; do
    grep -Hn '^#include "tools/' "${file}" || true
  done
)
if [[ -n "${violations}" ]]; then
  echo "libraries must not include tools/ (move what they need into base/):"
  echo "${violations}"
  exit 1
fi
echo "no library includes tools/"

# asyncio is one library: its sources are the files of asyncio/ and asyncio/internal/;
# every other folder under asyncio/ is a tutorial page's tool (BUILD.bazel, tool.cc),
# except asyncio/http/, the HTTP client, a library apart so that //asyncio needs no
# libcurl.
strays=$(find -L asyncio -mindepth 2 -type f ! -path 'asyncio/internal/*' \
  ! -path 'asyncio/http/*' ! -name BUILD.bazel ! -name tool.cc 2> /dev/null || true)
if [[ -n "${strays}" ]]; then
  echo "asyncio's tool folders hold only BUILD.bazel and tool.cc (the library is asyncio/*):"
  echo "${strays}"
  exit 1
fi
echo "asyncio's folders are tools, its files the library"
