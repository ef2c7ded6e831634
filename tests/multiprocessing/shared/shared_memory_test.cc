// SharedMemory: CPython's Lib/test/_test_multiprocessing.py
// _TestSharedMemory (test_shared_memory_basics, across processes, errors),
// on pyconc's fork server.
#include "multiprocessing/shared/shared_memory.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "base/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "multiprocessing/process/process.h"
#include "multiprocessing/process/queue.h"
#include "tests/multiprocessing/process/no_orphans.h"

namespace pyconc::multiprocessing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using SharedMemoryTest = testing::NoOrphansTest;

std::string_view Text(const SharedMemory& shm, size_t n) {
  return {reinterpret_cast<const char*>(shm.buf().data()), n};
}
void Write(const SharedMemory& shm, std::string_view text) {
  std::memcpy(shm.buf().data(), text.data(), text.size());
}

TEST_F(SharedMemoryTest, CreateAttachCloseUnlink) {
  absl::StatusOr<SharedMemory> created = SharedMemory::Create(64);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_THAT(created->name(), StartsWith("psm_"));
  EXPECT_EQ(created->size(), 64u);
  ASSERT_EQ(created->buf().size(), 64u);
  EXPECT_EQ(created->buf()[63], std::byte{0});  // Zero-filled.
  Write(*created, "hello");

  absl::StatusOr<SharedMemory> attached = SharedMemory::Attach(created->name());
  ASSERT_TRUE(attached.ok()) << attached.status();
  EXPECT_EQ(attached->size(), 64u);
  EXPECT_EQ(Text(*attached, 5), "hello");
  Write(*attached, "HELLO");
  EXPECT_EQ(Text(*created, 5), "HELLO");  // One block, two views.

  attached->Close();
  EXPECT_TRUE(attached->buf().empty());
  attached->Close();                      // Harmless.
  EXPECT_EQ(Text(*created, 5), "HELLO");  // Closing one view keeps the block.
  EXPECT_TRUE(created->Unlink().ok());
  EXPECT_EQ(Text(*created, 5), "HELLO");  // Mapped views outlive the name.
}

TEST_F(SharedMemoryTest, ANamedBlockAndItsErrors) {
  const std::string name = "pyconc_test_" + std::to_string(::getpid());
  absl::StatusOr<SharedMemory> created = SharedMemory::Create(10, name);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->name(), name);

  // Python: FileExistsError: [Errno 17] File exists: '/name'.
  absl::StatusOr<SharedMemory> again = SharedMemory::Create(10, name);
  EXPECT_TRUE(IsError(again.status(), PythonError::kFileExistsError));
  EXPECT_EQ(again.status().message(),
            "FileExistsError: [Errno 17] File exists: '/" + name + "'");

  ASSERT_TRUE(created->Unlink().ok());
  // Python: FileNotFoundError for attaching or unlinking a removed name.
  EXPECT_TRUE(IsError(SharedMemory::Attach(name).status(),
                      PythonError::kFileNotFoundError));
  EXPECT_TRUE(IsError(created->Unlink(), PythonError::kFileNotFoundError));
}

TEST_F(SharedMemoryTest, BadArgumentsAreValueErrors) {
  absl::StatusOr<SharedMemory> empty = SharedMemory::Create(0);
  EXPECT_TRUE(IsError(empty.status(), PythonError::kValueError));
  EXPECT_THAT(empty.status().message(), HasSubstr("'size' must be a positive"));
  EXPECT_TRUE(
      IsError(SharedMemory::Attach("").status(), PythonError::kValueError));
  // A name with a slash inside is the OS's business: an OSError.
  EXPECT_TRUE(
      IsError(SharedMemory::Attach("a/b").status(), PythonError::kOSError));
}

TEST_F(SharedMemoryTest, MovingKeepsOneView) {
  absl::StatusOr<SharedMemory> created = SharedMemory::Create(8);
  ASSERT_TRUE(created.ok());
  SharedMemory moved = *std::move(created);
  EXPECT_EQ(moved.size(), 8u);
  Write(moved, "x");
  EXPECT_TRUE(created->buf().empty());
  EXPECT_TRUE(moved.Unlink().ok());
}

// The child attaches by the name it received and answers in the block.
void Upcase(SharedMemory shm) {
  std::byte* bytes = shm.buf().data();
  for (size_t i = 0; i < shm.size(); ++i) {
    bytes[i] = static_cast<std::byte>(
        std::toupper(static_cast<unsigned char>(bytes[i])));
  }
}

TEST_F(SharedMemoryTest, AChildAttachesByName) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(5);
  ASSERT_TRUE(shm.ok());
  Write(*shm, "spam!");
  Process child(&Upcase, *shm);
  EXPECT_TRUE(child.Start().ok());
  child.Join();
  EXPECT_EQ(child.ExitCode(), 0);
  EXPECT_EQ(Text(*shm, 5), "SPAM!");
  EXPECT_TRUE(shm->Unlink().ok());
}

// Python pickles a SharedMemory by name, so it travels through a Queue too.
void ReceiveAndMark(Queue<SharedMemory> queue) {
  absl::StatusOr<SharedMemory> shm = queue.Get();
  if (!shm.ok()) std::exit(3);
  shm->buf()[0] = std::byte{'!'};
}

TEST_F(SharedMemoryTest, ABlockTravelsThroughAQueueByName) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(1);
  ASSERT_TRUE(shm.ok());
  Queue<SharedMemory> queue;
  Process child(&ReceiveAndMark, queue);
  EXPECT_TRUE(child.Start().ok());
  ASSERT_TRUE(queue.Put(*shm).ok());
  child.Join();
  EXPECT_EQ(child.ExitCode(), 0);
  EXPECT_EQ(shm->buf()[0], std::byte{'!'});
  EXPECT_TRUE(shm->Unlink().ok());
}

TEST_F(SharedMemoryTest, AChildGivenAnUnlinkedNameFailsAsFileNotFound) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(1);
  ASSERT_TRUE(shm.ok());
  Process child(&Upcase, *shm);  // Serializes the name now.
  ASSERT_TRUE(shm->Unlink().ok());
  EXPECT_TRUE(child.Start().ok());
  child.Join();
  EXPECT_EQ(child.ExitCode(), 1);  // The load failed: an exception escaped.
}

}  // namespace
}  // namespace pyconc::multiprocessing
