// Fuzzes the scraper's HTTP response path: a raw-socket server on 127.0.0.1
// sends the input's bytes as answers, and a Fetcher (libcurl) GETs a page from
// it with retries. The input holds up to three answers separated by NUL bytes,
// one per connection, so a retried error can be followed by a malformed
// answer (the case that crashed a reused libcurl handle). Any answer must give
// a page or a status, never a crash or a hang.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/threading/stocks/scripted_server.h"
#include "threading/stocks/fetch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> answers =
      absl::StrSplit(input, absl::MaxSplits('\0', 2));
  absl::StatusOr<std::unique_ptr<pyconc::stocks::testing::ScriptedServer>>
      server = pyconc::stocks::testing::ScriptedServer::Start(answers);
  if (!server.ok()) return 0;
  pyconc::stocks::Fetcher fetcher({.timeout = absl::Seconds(2),
                                   .max_retries = 2,
                                   .backoff = absl::ZeroDuration(),
                                   .max_redirects = 0});
  (void)fetcher.Get((*server)->base_url() + "/quote/AAPL");
  return 0;
}
