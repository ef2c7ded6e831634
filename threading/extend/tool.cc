// Extending Thread: a subclass that overrides Run() and keeps its results as
// members. Each FileHasher thread reads one file and computes its size and
// FNV-1a hash, noting which thread ran it; main checks the results against
// its own hashing of the same files.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
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
    "file (FNV-1a) and records the thread its Run() ran on; main then hashes "
    "the same\n"
    "files itself and compares. A file that cannot be read is reported and "
    "the others\n"
    "go on.";

// A file's size and FNV-1a hash; nullopt if it cannot be read.
struct Digest {
  uint64_t size = 0;
  uint64_t hash = 0xcbf29ce484222325ULL;
};
std::optional<Digest> HashFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  Digest digest;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      digest.hash = (digest.hash ^ static_cast<unsigned char>(buffer[i])) *
                    0x100000001b3ULL;
    }
    digest.size += static_cast<uint64_t>(in.gcount());
  }
  if (in.bad()) return std::nullopt;
  return digest;
}

class FileHasher : public pyconc::threading::Thread {
 public:
  explicit FileHasher(std::string path)
      : Thread({.name = "hash " + path.substr(path.find_last_of('/') + 1)}),
        path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  // Valid after Join(): the file's digest (nullopt if it could not be read),
  // the native id of the thread Run() ran on and how long Run() took.
  const std::optional<Digest>& digest() const { return digest_; }
  int64_t ran_on() const { return ran_on_; }
  absl::Duration took() const { return took_; }

 protected:
  void Run() override {
    ran_on_ = pyconc::threading::GetNativeId();
    took_ = pyconc::cli::Measure([this] { digest_ = HashFile(path_); });
  }

 private:
  const std::string path_;
  std::optional<Digest> digest_;
  int64_t ran_on_ = 0;
  absl::Duration took_;
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
    for (auto& hasher : hashers) pyconc::cli::ExitIfError(hasher->Start());
    for (auto& hasher : hashers) hasher->Join();
  });

  const int64_t main_id = pyconc::threading::GetNativeId();
  std::printf("  %-22s %10s %8s %12s  %-16s  %s\n", "thread", "Run() tid",
              "took", "bytes", "fnv1a", "path");
  int failed = 0;
  int agreed = 0;     // Results equal to main's own hashing of the file.
  int elsewhere = 0;  // Run()s that ran on a thread other than main.
  uint64_t bytes = 0;
  for (const auto& hasher : hashers) {
    const std::optional<Digest>& digest = hasher->digest();
    if (!digest.has_value()) {
      ++failed;
      std::fprintf(stderr, "extend: cannot read %s\n", hasher->path().c_str());
      continue;
    }
    elsewhere += hasher->ran_on() != main_id;
    bytes += digest->size;
    const std::optional<Digest> check = HashFile(hasher->path());
    agreed += check.has_value() && check->size == digest->size &&
              check->hash == digest->hash;
    std::printf(
        "  %-22s %10lld %8s %12llu  %016llx  %s\n", hasher->name().c_str(),
        static_cast<long long>(hasher->ran_on()),
        pyconc::cli::FormatDuration(hasher->took()).c_str(),
        static_cast<unsigned long long>(digest->size),
        static_cast<unsigned long long>(digest->hash), hasher->path().c_str());
  }
  std::printf(
      "%zu FileHasher threads (Thread subclasses) finished in %s; %d failed\n",
      hashers.size(), pyconc::cli::FormatDuration(elapsed).c_str(), failed);
  const int read = static_cast<int>(hashers.size()) - failed;
  pyconc::cli::Claim(
      "Subclass Thread and override Run(): Start() runs it on a new thread, "
      "and the subclass's members carry its inputs and results back to main "
      "after Join().",
      absl::StrFormat(
          "%d of %d FileHasher Run()s ran on a thread other than main's (%d) "
          "and hashed %d bytes; %d of %d results equal main's own hashing.",
          elsewhere, read, main_id, bytes, agreed, read),
      read > 0 && elsewhere == read && agreed == read,
      read == 0 ? "no file could be read" : "a result did not match");
  return failed == 0 ? 0 : 1;
}
