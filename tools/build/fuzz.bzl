"""Fuzz targets: a libFuzzer entry point that is also a regression test.

    pyconc_fuzz_test(
        name = "serializer_fuzz",
        srcs = ["serializer_fuzz.cc"],   # defines LLVMFuzzerTestOneInput
        corpus = glob(["corpus/serializer/*"]),
        deps = ["//multiprocessing/process:serialize"],
    )

In every build (`tools/bazel test //...`, asan, tsan) the target is a test that replays
each file of its corpus through LLVMFuzzerTestOneInput, so a crash found once stays
fixed. Under `--config=fuzz` (clang 14, libFuzzer, AddressSanitizer) the same target is
a libFuzzer binary: `tools/bazel run --config=fuzz //tests/fuzz:serializer_fuzz --
-max_total_time=10 $PWD/tests/fuzz/corpus/serializer`.
"""

load("//tools/build:pyconc.bzl", "pyconc_test")

def pyconc_fuzz_test(name, srcs, corpus, deps = [], **kwargs):
    pyconc_test(
        name = name,
        srcs = srcs,
        data = corpus,
        args = ["$(location %s)" % f for f in corpus],
        linkopts = select({
            "//tools/build:fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        deps = deps + select({
            "//tools/build:fuzzing": [],
            "//conditions:default": ["//tools/build:fuzz_replay_main"],
        }),
        **kwargs
    )
