// The process-pool lesson, measured on the tutorial's example: thumbnails of
// every image in a folder, made by a ProcessPoolExecutor with one worker and
// then with one worker per core. Images are read, resized and written with
// stb (stb_image, stb_image_resize, stb_image_write).
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "multiprocessing/pool/executor.h"
#include "stb/stb_image.h"
#include "stb/stb_image_resize.h"
#include "stb/stb_image_write.h"
#include "tools/cli/cli.h"

DEFINE_string(input_dir, "",
              "Folder of images (PNG, JPEG, BMP, ...) to make thumbnails of; "
              "empty: render sample images first.");
DEFINE_string(output_dir, "",
              "Where the thumbnails go; empty: a new folder under /tmp.");
DEFINE_int32(samples, 12, "How many sample images to render (no --input_dir).");
DEFINE_int32(sample_size, 1200, "Width of a sample image, in pixels.");
DEFINE_int32(thumbnail_size, 128, "The longer side of a thumbnail, in pixels.");
DEFINE_int32(max_workers, 0, "Workers of the second run (0: one per core).");

namespace {

constexpr char kLesson[] =
    "concurrent.futures.ProcessPoolExecutor in C++: Submit() one thumbnail "
    "job per image\n"
    "(decode, resize, encode: CPU-bound) to a pool of worker processes and "
    "collect each\n"
    "Future's Result(), first with one worker, then with one per core. "
    "Arguments and\n"
    "results cross as serialized values; the speed-up approaches the number "
    "of cores.\n"
    "With no --input_dir the tool renders sample images first, so it runs "
    "anywhere.";

// The most pixels an input image may have: 4096 x 4096, 48 MiB decoded. A
// header alone can claim far more (a 54-byte BMP, 426 MiB), which every worker
// would allocate.
constexpr int64_t kMaxPixels = int64_t{4096} * 4096;

// The folders this run made under /tmp; removed when the tool exits.
std::vector<std::string>* made_dirs = new std::vector<std::string>;

void RemoveMadeDirs() {
  for (const std::string& dir : *made_dirs) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
}

// What a worker answers for one image.
struct Thumbnail {
  std::string error;  // Empty on success.
  int width = 0, height = 0;
  int thumbnail_width = 0, thumbnail_height = 0;
  int64_t bytes = 0;  // Of the thumbnail file.

  template <typename Archive>
  void serialize(Archive& archive) {
    archive(error, width, height, thumbnail_width, thumbnail_height, bytes);
  }
};

// The job, run in a worker: `input` resized to fit `size` x `size`, written
// to `output` as PNG.
Thumbnail MakeThumbnail(std::string input, std::string output, int size) {
  Thumbnail result;
  int channels = 0;
  if (stbi_info(input.c_str(), &result.width, &result.height, &channels) &&
      int64_t{result.width} * result.height > kMaxPixels) {
    result.error = absl::StrFormat("%d x %d pixels: more than %d", result.width,
                                   result.height, kMaxPixels);
    return result;
  }
  unsigned char* pixels =
      stbi_load(input.c_str(), &result.width, &result.height, &channels, 3);
  if (pixels == nullptr) {
    result.error = absl::StrFormat("cannot read: %s", stbi_failure_reason());
    return result;
  }
  const double scale = std::min(
      1.0, static_cast<double>(size) / std::max(result.width, result.height));
  result.thumbnail_width = std::max(1, static_cast<int>(result.width * scale));
  result.thumbnail_height =
      std::max(1, static_cast<int>(result.height * scale));
  std::vector<unsigned char> thumbnail(static_cast<size_t>(
      result.thumbnail_width * result.thumbnail_height * 3));
  const bool resized =
      stbir_resize_uint8(pixels, result.width, result.height, 0,
                         thumbnail.data(), result.thumbnail_width,
                         result.thumbnail_height, 0, 3) != 0;
  stbi_image_free(pixels);
  if (!resized || stbi_write_png(output.c_str(), result.thumbnail_width,
                                 result.thumbnail_height, 3, thumbnail.data(),
                                 result.thumbnail_width * 3) == 0) {
    result.error = "cannot resize or write the thumbnail";
    return result;
  }
  std::error_code ignored;
  result.bytes =
      static_cast<int64_t>(std::filesystem::file_size(output, ignored));
  return result;
}

// Renders sample image `index` (a smooth pattern, so PNG has real work) to
// `path`; answers whether it was written.
bool RenderSample(std::string path, int index, int width) {
  const int height = width * 3 / 4;
  std::vector<unsigned char> pixels(static_cast<size_t>(width * height * 3));
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double u = static_cast<double>(x) / width;
      const double v = static_cast<double>(y) / height;
      unsigned char* p = &pixels[static_cast<size_t>((y * width + x) * 3)];
      p[0] = static_cast<unsigned char>(127 + 127 * std::sin(10 * u + index));
      p[1] =
          static_cast<unsigned char>(127 + 127 * std::cos(7 * v * u + index));
      p[2] = static_cast<unsigned char>((x ^ y) + 16 * index);
    }
  }
  return stbi_write_png(path.c_str(), width, height, 3, pixels.data(),
                        width * 3) != 0;
}

std::string MakeTempDir(const char* what) {
  std::string pattern = absl::StrFormat("/tmp/pyconc-%s-XXXXXX", what);
  if (::mkdtemp(pattern.data()) == nullptr) return "";
  if (made_dirs->empty()) std::atexit(&RemoveMadeDirs);
  made_dirs->push_back(pattern);
  return pattern;
}

// Thumbnails of `inputs` on `workers` processes; fills `results` in order.
absl::Duration RunBatch(int workers, const std::vector<std::string>& inputs,
                        const std::string& output_dir,
                        std::vector<Thumbnail>* results) {
  pyconc::futures::ProcessPoolExecutor pool({.max_workers = workers});
  results->assign(inputs.size(), Thumbnail());
  return pyconc::cli::Measure([&] {
    std::vector<pyconc::futures::Future<Thumbnail>> futures;
    for (const std::string& input : inputs) {
      const std::string output = output_dir + "/" +
                                 std::filesystem::path(input).stem().string() +
                                 ".thumbnail.png";
      futures.push_back(
          *pool.Submit(&MakeThumbnail, input, output, FLAGS_thumbnail_size));
    }
    for (size_t i = 0; i < futures.size(); ++i) {
      try {
        (*results)[i] = futures[i].Result();
      } catch (const std::exception& e) {
        (*results)[i].error = e.what();
      }
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  const int cores = pyconc::multiprocessing::CpuCount();
  if (FLAGS_max_workers == 0) FLAGS_max_workers = cores;
  pyconc::cli::CheckFlagRange("samples", FLAGS_samples, 1, 100);
  pyconc::cli::CheckFlagRange("sample_size", FLAGS_sample_size, 16, 2400);
  pyconc::cli::CheckFlagRange("thumbnail_size", FLAGS_thumbnail_size, 1, 1024);
  pyconc::cli::CheckFlagRange("max_workers", FLAGS_max_workers, 1, 256);
  // The fork server starts before any pool thread exists.
  pyconc::cli::ExitIfError(pyconc::multiprocessing::StartForkServer());

  std::string input_dir = FLAGS_input_dir;
  if (input_dir.empty()) {
    input_dir = MakeTempDir("samples");
    if (input_dir.empty()) pyconc::cli::Fail("cannot make /tmp dir");
    pyconc::futures::ProcessPoolExecutor pool(
        {.max_workers = FLAGS_max_workers});
    std::vector<pyconc::futures::Future<bool>> rendered;
    for (int i = 0; i < FLAGS_samples; ++i) {
      rendered.push_back(*pool.Submit(
          &RenderSample, absl::StrFormat("%s/sample-%02d.png", input_dir, i), i,
          FLAGS_sample_size));
    }
    for (const auto& f : rendered) {
      if (!f.Result()) pyconc::cli::Fail("cannot render samples");
    }
    std::printf("rendered %d sample images (%d x %d) in %s\n", FLAGS_samples,
                FLAGS_sample_size, FLAGS_sample_size * 3 / 4,
                input_dir.c_str());
  }
  std::error_code error;
  std::vector<std::string> inputs;
  for (const auto& entry :
       std::filesystem::directory_iterator(input_dir, error)) {
    if (entry.is_regular_file()) inputs.push_back(entry.path().string());
  }
  if (error) {
    pyconc::cli::Fail(absl::StrFormat("cannot read --input_dir %s: %s",
                                      input_dir, error.message()));
  }
  if (inputs.empty()) {
    pyconc::cli::Fail("no files in " + input_dir);
  }
  std::sort(inputs.begin(), inputs.end());
  std::string output_dir = FLAGS_output_dir;
  if (output_dir.empty()) output_dir = MakeTempDir("thumbnails");
  std::filesystem::create_directories(output_dir, error);
  if (output_dir.empty() || error) {
    pyconc::cli::Fail("cannot make --output_dir " + output_dir);
  }

  std::vector<Thumbnail> results;
  const absl::Duration many =
      RunBatch(FLAGS_max_workers, inputs, output_dir, &results);
  int failed = 0;
  std::printf("%zu images -> %s (thumbnails of at most %d px%s)\n",
              inputs.size(), output_dir.c_str(), FLAGS_thumbnail_size,
              FLAGS_output_dir.empty()
                  ? "; removed at exit, --output_dir keeps them"
                  : "");
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Thumbnail& r = results[i];
    const std::string name = std::filesystem::path(inputs[i]).filename();
    if (!r.error.empty()) {
      ++failed;
      std::printf("  %-28s error: %s\n", name.c_str(), r.error.c_str());
      continue;
    }
    std::printf("  %-28s %5d x %-5d -> %4d x %-4d %8lld bytes\n", name.c_str(),
                r.width, r.height, r.thumbnail_width, r.thumbnail_height,
                static_cast<long long>(r.bytes));
  }
  std::vector<Thumbnail> ignored;
  const absl::Duration one = RunBatch(1, inputs, output_dir, &ignored);

  std::printf("\n  %-22s %12s\n", "1 worker process",
              pyconc::cli::FormatDuration(one).c_str());
  std::printf("  %-22s %12s\n",
              absl::StrFormat("%d worker processes", FLAGS_max_workers).c_str(),
              pyconc::cli::FormatDuration(many).c_str());
  std::printf(
      "  %-22s %10.2f x   (ideal: %d x, the smaller of workers and cores; %d "
      "cores)\n",
      "speed-up", absl::FDivDuration(one, many),
      std::min(FLAGS_max_workers, cores), cores);
  // What the machine could give a CPU-bound run just now caps the speed-up.
  const double speed_up = absl::FDivDuration(one, many);
  const double free_cores = pyconc::cli::MeasureFreeCores(FLAGS_max_workers);
  const double cap =
      std::min<double>({static_cast<double>(FLAGS_max_workers), free_cores,
                        static_cast<double>(inputs.size())});
  pyconc::cli::Claim(
      "A ProcessPoolExecutor spreads CPU-bound calls (here, making "
      "thumbnails) over worker processes, one per core, so the batch "
      "finishes up to that many times faster.",
      absl::StrFormat("%.2fx with %d workers for %zu images; this machine "
                      "could give %.1f cores just now.",
                      speed_up, FLAGS_max_workers, inputs.size(), free_cores),
      failed == 0 && speed_up >= 0.75 * cap && cap >= 1.5,
      failed > 0               ? "an image failed"
      : FLAGS_max_workers == 1 ? "one worker cannot speed anything up"
      : inputs.size() < 2      ? "one image is one call: nothing to spread"
      : free_cores < 1.5
          ? absl::StrFormat("the machine had only %.1f free cores; the "
                            "speed-up is capped there",
                            free_cores)
          : "the workers did not keep their cores busy");
  return failed == 0 ? 0 : 1;
}
