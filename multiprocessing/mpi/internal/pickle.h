// The MPI pool's one contact with the process pool: how values become bytes
// (the process pool's cereal archives,
// multiprocessing/process/internal/serialize.h) and the RemoteError a
// worker's exception becomes. Kept in this one file so
// that a change of the process pool's serialization changes only this file.
//
// Thread-safety: the functions are thread-safe.

#ifndef PYCONC_MULTIPROCESSING_MPI_INTERNAL_PICKLE_H_
#define PYCONC_MULTIPROCESSING_MPI_INTERNAL_PICKLE_H_

#include <string>
#include <string_view>

#include "multiprocessing/pool/executor.h"  // RemoteError.
#include "multiprocessing/process/internal/serialize.h"

namespace pyconc::futures::internal::mpi {

// The bytes of `values`, in order, as the process pool pickles its
// arguments (no values: no bytes). Throws what the archive throws for a value
// that cannot cross.
template <typename... T>
std::string Pickle(const T&... values) {
  if constexpr (sizeof...(T) == 0) {
    return std::string();
  } else {
    return multiprocessing::internal::Serialize(nullptr, values...);
  }
}

// Reads `values` back from `bytes`; throws when the bytes do not hold them.
template <typename... T>
void Unpickle(std::string_view bytes, T&... values) {
  if constexpr (sizeof...(T) != 0) {
    multiprocessing::internal::Deserialize(bytes, nullptr, values...);
  }
}

}  // namespace pyconc::futures::internal::mpi

#endif  // PYCONC_MULTIPROCESSING_MPI_INTERNAL_PICKLE_H_
