// Large messages: the bytes a process pool or Connection writes into a message
// file arrive whole, also when they are copied on two threads
// (CopyInParallel) and decoded while another thread faults the string's pages
// in (FillWithPrefault).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "multiprocessing/process/internal/serialize.h"  // And its io.h.

namespace pyconc::multiprocessing::internal {
namespace {

// Bytes that differ from page to page and within a page, so that a piece
// copied to the wrong place or twice shows.
std::string Pattern(size_t size) {
  std::string bytes(size, '\0');
  uint32_t x = 12345;
  for (char& c : bytes) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 24);
  }
  return bytes;
}

TEST(CopyInParallelTest, CopiesEveryByteOnceAtAnyAlignment) {
  for (size_t size :
       {size_t{0}, size_t{1}, kParallelCopyBytes - 1, kParallelCopyBytes,
        kParallelCopyBytes + 4097, 3 * kParallelCopyBytes + 123}) {
    const std::string from = Pattern(size + 16);
    for (size_t offset : {size_t{0}, size_t{7}}) {
      std::vector<char> to(size + 32, '#');
      CopyInParallel(to.data() + offset, from.data() + 3, size);
      EXPECT_EQ(std::string(to.data() + offset, size), from.substr(3, size))
          << "size " << size << ", offset " << offset;
      // Nothing written outside the destination.
      EXPECT_EQ(std::string(to.data(), offset), std::string(offset, '#'));
      EXPECT_EQ(std::string(to.data() + offset + size, 32 - offset),
                std::string(32 - offset, '#'));
    }
  }
}

TEST(MessageTest, ALargeValueCrossesWholeThroughItsFile) {
  // Past kSpillBytes the bytes go to a message file, through its mapping,
  // and past kParallelCopyBytes on two threads; read back, into a string
  // whose back half another thread faults in (FillWithPrefault).
  const std::string value = Pattern(2 * kParallelCopyBytes + 5);
  const Message message = SerializeMessage(value, int64_t{42});
  ASSERT_GE(message.fd(), 0) << "a large message travels in a file";
  std::shared_ptr<const FileMapping> mapping =
      MapMessageFile(message.fd(), message.size());
  ASSERT_NE(mapping, nullptr);
  std::string back;
  int64_t after = 0;
  Deserialize(std::string_view(mapping->data(), message.size()), nullptr, back,
              after);
  EXPECT_EQ(back, value);
  EXPECT_EQ(after, 42);
}

}  // namespace
}  // namespace pyconc::multiprocessing::internal
