// A read-only memory mapping of a whole file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace accelab {

/// Maps a file read-only for the object's lifetime. Throws FileError naming the file.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  /// The same file mapped once per process: a live mapping of the same unchanged file (device,
  /// inode, size and modification time) is shared, so that several pipelines of one run that
  /// load one checkpoint neither map it twice nor count its pages twice in the resident set.
  static std::shared_ptr<const MappedFile> shared(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  [[nodiscard]] const std::byte* data() const { return data_; }
  [[nodiscard]] uint64_t size() const { return size_; }
  [[nodiscard]] std::span<const std::byte> bytes() const { return {data_, size_}; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
  const std::byte* data_ = nullptr;
  uint64_t size_ = 0;
  /// What tells one version of a file from another: a mapping is shared only while these match.
  struct Version {
    uint64_t device = 0, inode = 0, size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const Version&) const = default;
  };
  Version version_;
};

}  // namespace accelab
