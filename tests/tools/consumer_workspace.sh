#!/usr/bin/env bash
# A workspace of a pyconc user's, as the README tells them to set it up: it depends on
# one package at a time and must get that library alone (no tool, so no gflags), build,
# run, and run clean under ThreadSanitizer with the README's tsan lines.
#
#   tests/tools/consumer_workspace.sh PYCONC_DIR CONSUMER_DIR
set -euo pipefail

pyconc=$1
consumer=$2
bazel=("${BAZEL_REAL:-/usr/bin/bazel-4}" --output_base="${consumer}/.output")
mkdir -p "${consumer}/src"

cat > "${consumer}/WORKSPACE" <<WORKSPACE
workspace(name = "consumer")

local_repository(name = "pyconc", path = "${pyconc}")

load("@pyconc//tools/workspace:default.bzl", "add_default_repositories")

add_default_repositories()
WORKSPACE
# The README's .bazelrc for a consumer, verbatim.
sed -n '/^    # .bazelrc of a workspace that uses pyconc$/,/^$/p' "${pyconc}/README.md" |
  sed -e 's/^    //' > "${consumer}/.bazelrc"
grep -q -- '--config' "${consumer}/.bazelrc" 2> /dev/null ||
  grep -q 'tsan' "${consumer}/.bazelrc" || { echo "README has no consumer .bazelrc"; exit 1; }
echo "build --nosandbox_debug" >> "${consumer}/.bazelrc"

# One program per package: the label, the header and the namespace the README names.
write() {
  local name=$1 dep=$2 header=$3 body=$4
  cat >> "${consumer}/src/BUILD" <<BUILD
cc_binary(
    name = "${name}",
    srcs = ["${name}.cc"],
    deps = ["${dep}"],
)
BUILD
  printf '#include <cstdio>\n\n#include "%s"\n\nint main() {\n%s\n}\n' "${header}" "${body}" \
    > "${consumer}/src/${name}.cc"
}
: > "${consumer}/src/BUILD"
write queue @pyconc//queue queue/queue.h '
  pyconc::queue::Queue<int> q;
  pyconc::threading::Thread producer({}, [&] { (void)q.Put(42); });
  if (!producer.Start().ok()) return 1;
  std::printf("queue %d\n", *q.Get());
  producer.Join();
  return 0;'
sed -i 's|#include "queue/queue.h"|#include "queue/queue.h"\n#include "threading/thread/thread.h"|' "${consumer}/src/queue.cc"
sed -i 's|deps = \["@pyconc//queue"\]|deps = ["@pyconc//queue", "@pyconc//threading/thread"]|' "${consumer}/src/BUILD"
write semaphore @pyconc//sync/semaphore sync/semaphore/semaphore.h '
  pyconc::sync::BoundedSemaphore semaphore(2);
  semaphore.Acquire();
  semaphore.Release();
  std::printf("semaphore ok\n");
  return 0;'
write pool @pyconc//threading/pool threading/pool/executor.h '
  pyconc::futures::ThreadPoolExecutor pool({.max_workers = 2});
  auto future = pool.Submit([](int x) { return x * x; }, 7);
  std::printf("pool %d\n", future->Result());
  return 0;'
write asyncio @pyconc//asyncio asyncio/asyncio.h '
  int answer = pyconc::asyncio::Run([]() -> pyconc::asyncio::Coroutine<int> {
    co_await pyconc::asyncio::Sleep(absl::Milliseconds(1));
    co_return 42;
  }());
  std::printf("asyncio %d\n", answer);
  return 0;'
write process_pool @pyconc//multiprocessing/pool multiprocessing/pool/executor.h '
  pyconc::multiprocessing::StartForkServer();
  pyconc::futures::ProcessPoolExecutor pool({.max_workers = 2});
  auto future = pool.Submit(+[](int x) { return x + 1; }, 41);
  std::printf("process_pool %d\n", future->Result());
  return 0;'

cd "${consumer}"
programs=(queue semaphore pool asyncio process_pool)
for program in "${programs[@]}"; do
  if "${bazel[@]}" query "deps(//src:${program})" 2> /dev/null | grep -q gflags; then
    echo "//src:${program} pulls in gflags: it got more than the library"
    exit 1
  fi
done
for config in "" "--config=tsan"; do
  "${bazel[@]}" build ${config} //src/... 2> "${consumer}/bazel.log" ||
    { tail -n 30 "${consumer}/bazel.log"; exit 1; }
  for program in "${programs[@]}"; do
    output=$(TSAN_OPTIONS=halt_on_error=1 ./bazel-bin/src/${program}) ||
      { echo "//src:${program} ${config} failed: ${output}"; exit 1; }
    echo "${config:-default}: ${output}"
  done
done
