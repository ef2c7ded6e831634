// Extending Thread: a subclass that overrides Run() and keeps its results as
// members. Each FileHasher thread reads one file and computes its size and
// FNV-1a hash.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gflags/gflags.h"
#include "threading/thread/thread.h"
#include "tools/cli/cli.h"

DEFINE_string(files, "/proc/self/exe,/etc/os-release,/etc/passwd",
              "Comma-separated files to hash, one thread per file.");

namespace {

constexpr char kLesson[] =
    "Extending Thread: instead of passing a target, subclass Thread and "
    "override Run(),\n"
    "as Python code overrides run(). The subclass keeps its inputs and results "
    "as members;\n"
    "after Join() the results are safe to read. Here each FileHasher thread "
    "hashes one\n"
    "file (FNV-1a); a file that cannot be read is reported and the others go "
    "on.\n\n"
    "Usage: bazel run //threading/extend -- [--files=a,b,c]";

class FileHasher : public pyconc::threading::Thread {
 public:
  explicit FileHasher(std::string path)
      : Thread({.name = "hash " + path.substr(path.find_last_of('/') + 1)}),
        path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  // Valid after Join(): whether the file could be read, its size and hash.
  bool ok() const { return ok_; }
  uint64_t size() const { return size_; }
  uint64_t hash() const { return hash_; }

 protected:
  void Run() override {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return;
    char buffer[1 << 16];
    while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
      for (std::streamsize i = 0; i < in.gcount(); ++i) {
        hash_ =
            (hash_ ^ static_cast<unsigned char>(buffer[i])) * 0x100000001b3ULL;
      }
      size_ += static_cast<uint64_t>(in.gcount());
    }
    ok_ = !in.bad();
  }

 private:
  const std::string path_;
  bool ok_ = false;
  uint64_t size_ = 0;
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  std::vector<std::unique_ptr<FileHasher>> hashers;
  for (absl::string_view path :
       absl::StrSplit(FLAGS_files, ',', absl::SkipEmpty())) {
    hashers.push_back(std::make_unique<FileHasher>(std::string(path)));
  }
  if (hashers.empty()) pyconc::cli::Fail("--files names no file");

  const absl::Duration elapsed = pyconc::cli::Measure([&hashers] {
    for (auto& hasher : hashers) hasher->Start();
    for (auto& hasher : hashers) hasher->Join();
  });

  int failed = 0;
  for (const auto& hasher : hashers) {
    if (hasher->ok()) {
      std::printf("  %-22s %12llu bytes  fnv1a=%016llx  %s\n",
                  hasher->name().c_str(),
                  static_cast<unsigned long long>(hasher->size()),
                  static_cast<unsigned long long>(hasher->hash()),
                  hasher->path().c_str());
    } else {
      ++failed;
      std::fprintf(stderr, "extend: cannot read %s\n", hasher->path().c_str());
    }
  }
  std::printf(
      "%zu FileHasher threads (Thread subclasses) finished in %s; %d failed\n",
      hashers.size(), pyconc::cli::FormatDuration(elapsed).c_str(), failed);
  return failed == 0 ? 0 : 1;
}
