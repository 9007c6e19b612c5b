// Buffers for streamed arrays (accelab_cpu/huge_pages.hpp), and the host's use of them: model
// files read into huge pages (MappedFile::Pages::huge) and host_alloc's large blocks.
#include <gtest/gtest.h>

#include <accelab_cpu/huge_pages.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <new>
#include <string>
#include <vector>

#include "env/environment.hpp"
#include "model/model.hpp"
#include "support/huge_pages.hpp"
#include "support/temp_dir.hpp"
#include "util/mapped_file.hpp"

namespace accelab {
namespace {

using accelab::cpu::kHugePageBytes;

bool all_zero(const std::byte* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != std::byte{0}) return false;
  return true;
}

// Whether this kernel hands out huge pages to memory advised so; the tests that check the pages
// themselves skip where it does not.
bool thp_advisable() {
  const auto mode = transparent_hugepage_mode();
  return mode && (*mode == "always" || *mode == "madvise");
}

TEST(StreamBuffer, SmallSizesAreZeroedCacheLinesOfTheHeap) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{65536}, kHugePageBytes - 1}) {
    const accelab::cpu::StreamBuffer b = accelab::cpu::stream_buffer(n);
    ASSERT_NE(b.get(), nullptr) << n;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.get()) % 64, 0u) << n;
    EXPECT_EQ(b.get_deleter().mapped, 0u) << n;
    EXPECT_TRUE(all_zero(b.get(), n)) << n;
  }
}

TEST(StreamBuffer, LargeSizesAreWholeHugePagesOnTheirBoundary) {
  for (size_t n : {kHugePageBytes, kHugePageBytes + 1, 3 * kHugePageBytes + 4096}) {
    accelab::cpu::StreamBuffer b = accelab::cpu::stream_buffer(n);
    ASSERT_NE(b.get(), nullptr) << n;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.get()) % kHugePageBytes, 0u) << n;
    EXPECT_EQ(b.get_deleter().mapped, (n + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes) << n;
    EXPECT_TRUE(all_zero(b.get(), n)) << n;
    b[n - 1] = std::byte{7};  // writable to the last byte
  }
}

TEST(StreamBuffer, ImpossibleSizesThrowBadAlloc) {
  EXPECT_THROW((void)accelab::cpu::stream_buffer(SIZE_MAX), std::bad_alloc);
  EXPECT_THROW((void)accelab::cpu::stream_buffer(SIZE_MAX - kHugePageBytes), std::bad_alloc);
}

TEST(StreamBuffer, LargeBuffersGetHugePagesWhereTheKernelAllowsThem) {
  if (!thp_advisable()) GTEST_SKIP() << "transparent huge pages are off on this kernel";
  accelab::cpu::StreamBuffer b = accelab::cpu::stream_buffer(4 * kHugePageBytes);
  for (size_t i = 0; i < 4 * kHugePageBytes; i += 4096) b[i] = std::byte{1};
  const auto kib = test_support::anon_huge_kib(b.get());
  if (!kib) GTEST_SKIP() << "/proc/self/smaps does not describe the buffer";
  // The kernel may lack free huge pages at a given moment; one of four is enough to show the
  // advice took.
  EXPECT_GE(*kib, kHugePageBytes / 1024) << "no huge page in 8 MiB advised to them";
}

std::string write_file(const test_support::TempDir& dir, const std::string& name, const std::vector<char>& bytes) {
  const std::string path = (dir.path() / name).string();
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

TEST(MappedFileHuge, HoldsTheFilesBytesAsTheMappingDoes) {
  test_support::TempDir dir;
  std::vector<char> bytes(kHugePageBytes + 12345);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 31 + i / 4096);
  const std::string path = write_file(dir, "w.bin", bytes);
  const auto mapped = MappedFile::shared(path);
  const auto huge = MappedFile::shared(path, MappedFile::Pages::huge);
  EXPECT_NE(mapped.get(), huge.get());  // shared per way of holding the file
  EXPECT_EQ(huge.get(), MappedFile::shared(path, MappedFile::Pages::huge).get());
  ASSERT_EQ(huge->size(), bytes.size());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(huge->data()) % kHugePageBytes, 0u);
  EXPECT_EQ(std::memcmp(huge->data(), bytes.data(), bytes.size()), 0);
  EXPECT_EQ(std::memcmp(mapped->data(), bytes.data(), bytes.size()), 0);
}

TEST(MappedFileHuge, SmallAndEmptyFiles) {
  test_support::TempDir dir;
  const MappedFile small(write_file(dir, "s.bin", {'a', 'b', 'c'}), MappedFile::Pages::huge);
  ASSERT_EQ(small.size(), 3u);
  EXPECT_EQ(static_cast<char>(small.data()[2]), 'c');
  const MappedFile empty(write_file(dir, "e.bin", {}), MappedFile::Pages::huge);
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty.data(), nullptr);
  try {
    (void)MappedFile((dir.path() / "missing.bin").string(), MappedFile::Pages::huge);
    FAIL() << "a missing file was read";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("missing.bin: cannot open"), std::string::npos) << e.what();
  }
}

TEST(HostAlloc, LargeBlocksAreHugePageAlignedAndFreedByHostFree) {
  for (uint64_t n : {uint64_t{kHugePageBytes}, uint64_t{5 * kHugePageBytes + 3}}) {
    HostBuffer b(host_alloc(n, 64));
    ASSERT_NE(b.get(), nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.get()) % kHugePageBytes, 0u);
    static_cast<char*>(b.get())[n - 1] = 1;
  }
  // Small blocks keep the requested alignment, from the heap (HostFree tells the two apart).
  HostBuffer small(host_alloc(1000, 256));
  ASSERT_NE(small.get(), nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small.get()) % 256, 0u);
  HostFree{}(nullptr);
}

}  // namespace
}  // namespace accelab
