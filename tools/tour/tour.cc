// The tour: every topic's tool, in the tutorial's order, with small workloads.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "tools/cli/cli.h"
#include "tools/tour/report.h"

DEFINE_string(topic, "", "Run only the topics whose title contains this text.");
DEFINE_string(
    html, "",
    "Also write a report to this folder: index.html with each topic's "
    "output and timeline (each tool runs with --trace).");

extern char** environ;

namespace {

constexpr char kLesson[] =
    "The pyconc tour: runs each topic's tool in the order of the Python "
    "concurrency\n"
    "tutorial, with small workloads, one headed section per topic. Each "
    "section names\n"
    "the tool, so you can run it alone with other flags (see its --help).";

struct Stop {
  const char* title;   // The tutorial page.
  const char* python;  // What it mirrors in Python.
  const char* target;  // The Bazel target of its tool.
  const char* args;    // Flags for a quick run, space-separated.
  // Ranks for an MPI program, which runs under `mpirun -np ranks`; 0 for
  // every other tool.
  int mpi_ranks = 0;
};

constexpr Stop kStops[] = {
    {"1.1 processes and threads", "os.fork vs threading.Thread",
     "//threading/processes_vs_threads", "--count=200"},
    {"1.2 threading", "threading.Thread", "//threading/thread:tool",
     "--jobs=4 --latency_ms=100"},
    {"1.3 extending Thread", "class T(threading.Thread): def run(self)",
     "//threading/extend", ""},
    {"1.4 returning values", "a Thread subclass keeping run()'s result",
     "//threading/return_values:tool", "--limit=300000 --fail_slice=1"},
    {"1.5 multithreading example",
     "a stock scraper: urllib + lxml XPath on Threads",
     "//threading/stocks:tool",
     "--symbols=AAPL,MSFT,GOOGL,AMZN,NVDA,META,TSLA,JPM,V,KO --delay_ms=50"},
    {"1.6 daemon threads", "threading.Thread(daemon=True)",
     "//threading/daemon", "--busy_ms=200"},
    {"1.7 thread pools", "concurrent.futures.ThreadPoolExecutor",
     "//threading/pool:tool", "--tasks=6 --unit_ms=20 --workers=3"},
    {"2.1 lock", "threading.Lock, RLock, Condition", "//sync/lock:tool",
     "--threads=4 --increments=100000"},
    {"2.2 event", "threading.Event", "//sync/event:tool",
     "--workers=4 --delay_ms=30"},
    {"2.3 stopping a thread", "an Event checked by the worker; std::stop_token",
     "//sync/stop:tool", "--step_ms=200 --run_ms=100"},
    {"2.4 semaphore", "threading.Semaphore, BoundedSemaphore",
     "//sync/semaphore:tool", "--jobs=12 --limit=3 --job_ms=20"},
    {"2.5 barrier", "threading.Barrier", "//sync/barrier:tool",
     "--parties=4 --rounds=3 --step_ms=10"},
    {"2.6 timer", "threading.Timer", "//sync/timer:tool",
     "--delay_ms=100 --cancel_after_ms=30"},
    {"3.1 thread-safe queue", "queue.Queue, LifoQueue, PriorityQueue",
     "//queue:tool",
     "--producers=4 --consumers=4 --maxsize=16 --kind=fifo --items=200000"},
    {"4.1 processes", "multiprocessing.Process, Pipe, Queue",
     "//multiprocessing/process:tool", "--processes=2 --limit=300000"},
    {"4.2 process pools", "concurrent.futures.ProcessPoolExecutor",
     "//multiprocessing/pool:tool", "--samples=8 --sample_size=800"},
    {"4.3 sharing state between processes",
     "multiprocessing.Value, Array, Lock, shared_memory",
     "//multiprocessing/shared:tool", "--processes=4 --increments=300"},
    {"4.4 pools across hosts (MPI)", "mpi4py.futures.MPIPoolExecutor",
     "//multiprocessing/mpi:tool", "--images=8 --image_size=600",
     /*mpi_ranks=*/3},
    {"5.1 event loop", "asyncio event loop: call_soon, call_later, add_reader",
     "//asyncio/event_loop", "--timers=3 --interval_ms=10"},
    {"5.2 async/await", "async def / await", "//asyncio/async_await",
     "--jobs=3 --latency_ms=50"},
    {"5.3 creating tasks", "asyncio.create_task", "//asyncio/create_task",
     "--jobs=3 --latency_ms=50"},
    {"5.4 cancelling tasks", "Task.cancel(msg), CancelledError",
     "//asyncio/cancel", "--sleep_ms=500 --cancel_after_ms=30 --cleanup_ms=10"},
    {"5.5 cancelling with a timeout",
     "asyncio.wait_for, asyncio.timeout, asyncio.shield", "//asyncio/timeout",
     "--work_ms=100 --timeout_ms=30"},
    {"5.6 asyncio.wait", "asyncio.wait(return_when=..., timeout=...)",
     "//asyncio/wait", "--tasks=4 --latency_ms=40 --fail=2 --timeout_ms=25"},
    {"5.7 future", "asyncio.Future", "//asyncio/future", "--delay_ms=20"},
    {"5.8 gather", "asyncio.gather(*aws, return_exceptions=...)",
     "//asyncio/gather", "--calls=3 --latency_ms=60 --cancel_after_ms=20"},
    {"5.9 asyncio queue", "asyncio.Queue, task_done/join, shutdown (3.13)",
     "//asyncio/queue",
     "--producers=2 --consumers=2 --items=20000 --maxsize=8"},
    {"5.10 asyncio semaphore", "asyncio.Semaphore, async with sem",
     "//asyncio/semaphore", "--downloads=9 --limit=3 --download_ms=20"},
    {"5.11 asyncio streams", "asyncio.start_server, open_connection",
     "//asyncio/echo", "--clients=100 --requests=100"},
    {"5.12 asyncio scraper", "the stock scraper with asyncio and a Semaphore",
     "//asyncio/stocks", "--counts=10,200 --delay_ms=10"},
};

// "//threading/thread:tool" -> "threading/thread/tool", its path in the
// runfiles.
std::string BinaryPath(const std::string& target) {
  const std::string package = target.substr(2);
  const size_t colon = package.find(':');
  if (colon != std::string::npos) {
    return package.substr(0, colon) + "/" + package.substr(colon + 1);
  }
  return package + "/" + package.substr(package.find_last_of('/') + 1);
}

// The path of `program` on PATH, or empty.
std::string FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path != nullptr ? path : "", ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", program);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// What runs before an MPI tool's path: mpirun and its flags (as root, mpirun
// wants that said on its command line).
std::vector<std::string> MpiLauncher(const std::string& mpirun, int ranks) {
  std::vector<std::string> launcher = {mpirun, "--oversubscribe", "-np",
                                       absl::StrCat(ranks)};
  if (::geteuid() == 0) launcher.push_back("--allow-run-as-root");
  return launcher;
}

// Runs one tool after `launcher` (mpirun and its flags, or nothing) with
// `extra_args` after its own, echoing what it prints and returning it in
// `output`; returns its exit code (or -1 when it could not start or crashed).
int RunTool(const Stop& stop, const std::vector<std::string>& launcher,
            const std::vector<std::string>& extra_args, std::string* output) {
  const std::string path = BinaryPath(stop.target);
  std::vector<std::string> args = launcher;
  // mpirun starts the ranks from its daemon, which wants the full path.
  args.push_back(launcher.empty() ? path
                                  : std::filesystem::absolute(path).string());
  for (absl::string_view arg :
       absl::StrSplit(stop.args, ' ', absl::SkipEmpty())) {
    args.emplace_back(arg);
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    return -1;
  }
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof(buffer))) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    std::fwrite(buffer, 1, n, stdout);
    output->append(buffer, n);
  }
  std::fflush(stdout);
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The "Shown:" verdict a tool printed with cli::Claim, or "" when it printed
// none.
std::string ShownVerdict(absl::string_view output) {
  const size_t at = output.rfind("\nShown:");
  if (at == absl::string_view::npos) return "";
  absl::string_view verdict = output.substr(at + 7);
  verdict = verdict.substr(0, verdict.find('\n'));
  return std::string(absl::StripLeadingAsciiWhitespace(verdict));
}

// One line per topic: did this run show the tutorial's claim?
void PrintClaims(const std::vector<pyconc::tour::TopicRun>& runs) {
  std::printf("Did this run show each page's claim?\n");
  for (const pyconc::tour::TopicRun& run : runs) {
    const std::string verdict = ShownVerdict(run.output);
    std::printf(
        "  %-28s %s\n", run.title.c_str(),
        verdict.empty() ? "(the tool states no claim yet)" : verdict.c_str());
  }
  std::printf("\n");
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Writes the report's index.html into --html's folder; exits 2 when it cannot.
void WriteReport(const std::vector<pyconc::tour::TopicRun>& runs) {
  const std::string path = FLAGS_html + "/index.html";
  std::ofstream file(path);
  file << pyconc::tour::ReportHtml(runs);
  file.close();
  if (!file) pyconc::cli::Fail("--html: cannot write " + path);
  std::printf("Report: %s\n", path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  pyconc::cli::Init(&argc, &argv, kLesson, __FILE__);
  if (!FLAGS_html.empty()) {
    std::error_code error;
    std::filesystem::create_directories(FLAGS_html, error);
    if (error) pyconc::cli::Fail("--html: cannot create " + FLAGS_html);
  }
  std::vector<pyconc::tour::TopicRun> runs;
  int failures = 0;
  int ran = 0;
  const absl::Duration total = pyconc::cli::Measure([&] {
    for (const Stop& stop : kStops) {
      if (!absl::StrContains(stop.title, FLAGS_topic)) continue;
      ++ran;
      std::printf(
          "\n=================================================================="
          "\n");
      std::printf("%s   (Python: %s)\n", stop.title, stop.python);
      std::vector<std::string> launcher;
      std::string command =
          absl::StrCat("tools/bazel run ", stop.target, " -- ", stop.args);
      if (stop.mpi_ranks > 0) {
        const std::string mpirun = FindOnPath("mpirun");
        if (mpirun.empty()) {
          std::printf(
              "skipped: mpirun is not installed (Debian's openmpi-bin; "
              "tools/bazel installs it when a command builds an MPI "
              "target)\n");
          continue;
        }
        launcher = MpiLauncher(mpirun, stop.mpi_ranks);
        command = absl::StrCat(absl::StrJoin(launcher, " "), " bazel-bin/",
                               BinaryPath(stop.target), " ", stop.args);
      }
      std::printf("$ %s\n\n", command.c_str());
      std::vector<std::string> extra_args;
      const std::string trace_path =
          absl::StrCat(FLAGS_html, "/topic-", ran, ".json");
      if (!FLAGS_html.empty()) extra_args.push_back("--trace=" + trace_path);
      std::string output;
      const int code = RunTool(stop, launcher, extra_args, &output);
      runs.push_back({stop.title, stop.python, command, std::move(output), code,
                      FLAGS_html.empty() ? "" : ReadFile(trace_path)});
      if (code != 0) {
        ++failures;
        std::printf("\n!! %s exited with code %d\n", stop.target, code);
      }
    }
  });
  if (ran == 0) pyconc::cli::Fail("--topic matches no topic");
  std::printf(
      "\n==================================================================\n");
  PrintClaims(runs);
  std::printf("Tour done: %d topics in %s, %d failed.\n", ran,
              pyconc::cli::FormatDuration(total).c_str(), failures);
  if (!FLAGS_html.empty()) WriteReport(runs);
  return failures == 0 ? 0 : 1;
}
