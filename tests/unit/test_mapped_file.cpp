// MappedFile::shared: one mapping per unchanged file while any user holds it, a fresh one once
// the file changed or nobody holds it.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "support/temp_dir.hpp"
#include "util/mapped_file.hpp"

namespace accelab {
namespace {

TEST(MappedFileShared, SameUnchangedFileIsMappedOnce) {
  test_support::TempDir dir;
  const std::string path = (dir.path() / "f.bin").string();
  std::ofstream(path) << "abcdef";
  auto a = MappedFile::shared(path);
  auto b = MappedFile::shared(path);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(a->size(), 6u);
  // Rewritten (another size): a new mapping with the new size and bytes.
  std::ofstream(path, std::ios::trunc) << "xyz";
  auto c = MappedFile::shared(path);
  EXPECT_NE(c.get(), a.get());
  EXPECT_EQ(c->size(), 3u);
  EXPECT_EQ(static_cast<char>(c->data()[0]), 'x');
  EXPECT_THROW(MappedFile::shared((dir.path() / "missing").string()), std::exception);
}

}  // namespace
}  // namespace accelab
