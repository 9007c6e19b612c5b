// A whole file in memory, read-only: mapped, or read into huge pages.
#pragma once

#include <accelab_cpu/huge_pages.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace accelab {

/// A file's bytes, read-only, for the object's lifetime. Throws FileError naming the file.
class MappedFile {
 public:
  /// How the bytes are held.
  enum class Pages {
    file,  ///< a mapping of the file (the page cache's 4 KiB pages, read as they are touched)
    /// Read at once into anonymous memory in huge pages (accelab_cpu/huge_pages.hpp), then made
    /// read-only: for model weights, which the kernels stream every token. A file of ext4 and
    /// most other file systems is mapped in 4 KiB pages whatever madvise says, and TinyLlama's
    /// float32 decode ran at 12.6-13.6 tokens/s from those, 13.8-16.3 from huge pages
    /// (plugins/cpu-common/README.md, "Huge pages").
    huge,
  };
  explicit MappedFile(const std::string& path, Pages pages = Pages::file);
  /// The same file held once per process and way: a live MappedFile of the same unchanged file
  /// (device, inode, size and modification time) and Pages is shared, so that several
  /// pipelines of one run that load one checkpoint neither read it twice nor count its pages
  /// twice in the resident set.
  static std::shared_ptr<const MappedFile> shared(const std::string& path, Pages pages = Pages::file);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  [[nodiscard]] const std::byte* data() const { return data_; }
  [[nodiscard]] uint64_t size() const { return size_; }
  [[nodiscard]] std::span<const std::byte> bytes() const { return {data_, size_}; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  void map(int fd);
  void read_into_huge_pages(int fd);

  std::string path_;
  const std::byte* data_ = nullptr;
  uint64_t size_ = 0;
  accelab::cpu::StreamBuffer copy_;  ///< Pages::huge: the bytes (data_ points here); else empty
  /// What tells one version of a file from another: a mapping is shared only while these match.
  struct Version {
    uint64_t device = 0, inode = 0, size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const Version&) const = default;
  };
  Version version_;
};

}  // namespace accelab
