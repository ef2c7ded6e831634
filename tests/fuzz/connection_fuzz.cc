// Feeds arbitrary bytes to a Connection as if a hostile peer had written them,
// then closes the peer. Recv() answers messages and finally EOFError (or
// UnpicklingError for a message that is not the type asked for): never an
// exception, a hang, or memory beyond what the peer sent.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/errors.h"
#include "multiprocessing/process/connection.h"
#include "multiprocessing/process/internal/serialize.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using pyconc::IsError;
  using pyconc::PythonError;
  // The whole input must fit in the socket's buffer before anything reads.
  if (size > (32 << 10)) return 0;
  auto [reader, writer] = pyconc::multiprocessing::Pipe();
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::send(writer.fileno(), data + done, size - done, 0);
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
  writer.Close();
  while (true) {
    absl::StatusOr<std::vector<std::string>> message =
        reader.Recv<std::vector<std::string>>();
    if (message.ok() ||
        IsError(message.status(), PythonError::kUnpicklingError)) {
      continue;
    }
    if (!IsError(message.status(), PythonError::kEOFError)) std::abort();
    break;
  }
  return 0;
}
