// The process-pool lesson spread over MPI ranks, possibly on several hosts:
// thumbnails of rendered images (render, resize, encode as PNG: CPU-bound),
// made by an MpiPoolExecutor with one worker and then with all of them. The
// images never touch a disk, so the workers may run anywhere; each answers
// which rank and host did the work and how long it took.
//
//   mpirun --oversubscribe -np 4 bazel-bin/multiprocessing/mpi/tool  (world)
//   tools/bazel run //multiprocessing/mpi:tool -- --max_workers=2 (spawn)
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "multiprocessing/mpi/executor.h"
#include "stb/stb_image_resize.h"
#include "stb/stb_image_write.h"
#include "tools/cli/cli.h"

DEFINE_int32(images, 24, "How many images to render and make thumbnails of.");
DEFINE_int32(image_size, 1200, "Width of an image, in pixels.");
DEFINE_int32(thumbnail_size, 128, "The longer side of a thumbnail, in pixels.");
DEFINE_int32(max_workers, 2,
             "Spawn mode (run alone): workers to start. World mode (under "
             "mpirun): ignored, the workers are the other ranks.");

namespace {

constexpr char kLesson[] =
    "mpi4py.futures.MPIPoolExecutor in C++: Submit() one thumbnail job per "
    "image (render,\n"
    "resize, encode as PNG: CPU-bound) to workers that are MPI ranks, on this "
    "host or\n"
    "others, first with one worker, then with all of them. Tasks are "
    "registered by name\n"
    "in every process; arguments and results cross as serialized values.\n\n"
    "Usage: mpirun --oversubscribe -np N bazel-bin/multiprocessing/mpi/tool "
    "[--images=N]\n"
    "   or: tools/bazel run //multiprocessing/mpi:tool -- [--max_workers=N] "
    "(workers spawned)";

// What a worker answers for one image.
struct Thumbnail {
  int rank = -1;
  std::string host;
  int width = 0, height = 0;
  int64_t png_bytes = 0;
  int64_t busy_us = 0;

  template <typename Archive>
  void serialize(Archive& archive) {
    archive(rank, host, width, height, png_bytes, busy_us);
  }
};

void AppendBytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                             static_cast<size_t>(size));
}

// The job, run in a worker: image `index` (interference rings, so that PNG
// has real work), resized to fit `thumbnail_size`, encoded in memory.
Thumbnail MakeThumbnail(int index, int image_size, int thumbnail_size) {
  const absl::Time start = absl::Now();
  const int width = image_size;
  const int height = image_size * 3 / 4;
  std::vector<unsigned char> pixels(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double r = std::hypot(x - width / 3.0, y - height / 2.0);
      const double s = std::hypot(x - 2 * width / 3.0, y - height / 3.0);
      unsigned char* p = &pixels[(static_cast<size_t>(y) * width + x) * 3];
      p[0] = static_cast<unsigned char>(127 + 127 * std::sin(r / (4 + index)));
      p[1] = static_cast<unsigned char>(127 + 127 * std::cos(s / 7.0));
      p[2] = static_cast<unsigned char>(127 + 127 * std::sin((r + s) / 11.0));
    }
  }
  Thumbnail result;
  const double scale =
      static_cast<double>(thumbnail_size) / std::max(width, height);
  result.width = std::max(1, static_cast<int>(width * scale));
  result.height = std::max(1, static_cast<int>(height * scale));
  std::vector<unsigned char> small(static_cast<size_t>(result.width) *
                                   result.height * 3);
  stbir_resize_uint8(pixels.data(), width, height, 0, small.data(),
                     result.width, result.height, 0, 3);
  std::string png;
  stbi_write_png_to_func(&AppendBytes, &png, result.width, result.height, 3,
                         small.data(), result.width * 3);
  result.png_bytes = static_cast<int64_t>(png.size());
  const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
  result.rank = rank != nullptr ? std::atoi(rank) : -1;
  char host[HOST_NAME_MAX + 1] = {};
  ::gethostname(host, sizeof(host) - 1);
  result.host = host;
  result.busy_us = absl::ToInt64Microseconds(absl::Now() - start);
  return result;
}

const auto kMakeThumbnail =
    pyconc::futures::RegisterMpiTask("make_thumbnail", &MakeThumbnail);

// Every image on an executor of `max_workers` (all: unset); its results, in
// order, and the wall time.
absl::Duration RunBatch(std::optional<int> max_workers,
                        std::vector<Thumbnail>* results, int* workers) {
  // One call in flight per worker: the jobs are long, so each goes to the
  // first worker free, as mpi4py sends them.
  pyconc::futures::MpiPoolExecutor pool(
      {.max_workers = max_workers, .max_in_flight = 1});
  *workers = pool.max_workers();
  results->assign(static_cast<size_t>(FLAGS_images), Thumbnail());
  return pyconc::cli::Measure([&] {
    std::vector<pyconc::futures::Future<Thumbnail>> futures;
    for (int i = 0; i < FLAGS_images; ++i) {
      absl::StatusOr<pyconc::futures::Future<Thumbnail>> f = pool.Submit(
          kMakeThumbnail, i, FLAGS_image_size, FLAGS_thumbnail_size);
      if (!f.ok()) pyconc::cli::Fail(std::string(f.status().message()));
      futures.push_back(*std::move(f));
    }
    for (size_t i = 0; i < futures.size(); ++i) {
      (*results)[i] = futures[i].Result();
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  // Workers (the other ranks, or spawned processes) serve in here.
  pyconc::futures::MpiInit(&argc, &argv);
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  pyconc::cli::CheckFlagRange("images", FLAGS_images, 1, 10000);
  pyconc::cli::CheckFlagRange("image_size", FLAGS_image_size, 16, 8000);
  pyconc::cli::CheckFlagRange("thumbnail_size", FLAGS_thumbnail_size, 1, 4096);
  pyconc::cli::CheckFlagRange("max_workers", FLAGS_max_workers, 1, 256);
  const bool world = pyconc::futures::MpiWorldMode();
  const std::optional<int> all =
      world ? std::nullopt : std::optional<int>(FLAGS_max_workers);

  std::vector<Thumbnail> results;
  int workers = 0;
  const absl::Duration many = RunBatch(all, &results, &workers);
  std::printf("%s mode: %d worker%s; %d thumbnails of %d x %d renders\n",
              world ? "world" : "spawn", workers, workers == 1 ? "" : "s",
              FLAGS_images, FLAGS_image_size, FLAGS_image_size * 3 / 4);
  // Per worker: what it did. Spawned workers are told apart by host and
  // their rank among the spawned.
  std::map<std::pair<std::string, int>, std::pair<int, int64_t>> by_worker;
  int64_t png_bytes = 0;
  for (const Thumbnail& t : results) {
    auto& [count, busy_us] = by_worker[{t.host, t.rank}];
    ++count;
    busy_us += t.busy_us;
    png_bytes += t.png_bytes;
  }
  for (const auto& [who, what] : by_worker) {
    std::printf(
        "  rank %-3d on %-20s %4d images, busy %s\n", who.second,
        who.first.c_str(), what.first,
        pyconc::cli::FormatDuration(absl::Microseconds(what.second)).c_str());
  }
  std::printf("  %lld bytes of PNG thumbnails (%d x %d each)\n",
              static_cast<long long>(png_bytes), results[0].width,
              results[0].height);

  int one_worker = 0;
  std::vector<Thumbnail> ignored;
  const absl::Duration one = RunBatch(1, &ignored, &one_worker);
  std::printf("\n  %-22s %12s\n", "1 worker",
              pyconc::cli::FormatDuration(one).c_str());
  std::printf("  %-22s %12s\n", absl::StrFormat("%d workers", workers).c_str(),
              pyconc::cli::FormatDuration(many).c_str());
  const double speed_up = absl::FDivDuration(one, many);
  std::printf(
      "  %-22s %10.2f x   (ideal: %d x, if every worker has a core of its "
      "own)\n",
      "speed-up", speed_up, workers);
  // What the machine could give a CPU-bound run just now caps the speed-up.
  const double cores = pyconc::cli::MeasureFreeCores(workers);
  const double cap = std::min<double>(workers, cores);
  pyconc::cli::Claim(
      "Spreading CPU-bound calls over N workers makes the batch up to N times "
      "faster.",
      absl::StrFormat("%.2fx with %d workers; this machine could give %.1f "
                      "cores just now.",
                      speed_up, workers, cores),
      workers > 1 && speed_up >= 0.75 * cap && cap >= 1.5,
      workers == 1 ? "one worker cannot speed anything up"
      : cap < 1.5  ? absl::StrFormat("the machine had only %.1f free cores; "
                                      "the speed-up is capped there",
                                     cores)
                   : "the workers did not keep their cores busy");
  return 0;
}
