#include "util/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "util/error.hpp"

namespace accelab {
namespace {

// Bytes per read() call: Linux moves at most about 2 GiB per call.
constexpr uint64_t kReadBytes = uint64_t{1} << 30;

template <class Version>
Version version_of(const struct stat& st) {
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

}  // namespace

MappedFile::MappedFile(const std::string& path, Pages pages) : path_(path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is rejected below.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw FileError(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw FileError(path + ": not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  version_ = version_of<Version>(st);
  try {
    if (size_ > 0 && pages == Pages::huge) read_into_huge_pages(fd);
    else if (size_ > 0) map(fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

void MappedFile::map(int fd) {
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) throw FileError(path_ + ": cannot map: " + std::strerror(errno));
  data_ = static_cast<const std::byte*>(p);
}

void MappedFile::read_into_huge_pages(int fd) {
  try {
    copy_ = accelab::cpu::stream_buffer(size_);
  } catch (const std::bad_alloc&) {
    throw FileError(fmt::format("{}: cannot allocate {} bytes to read it into", path_, size_));
  }
  for (uint64_t at = 0; at < size_;) {
    const ssize_t n = ::pread(fd, copy_.get() + at, std::min<uint64_t>(size_ - at, kReadBytes), static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw FileError(path_ + ": cannot read: " + std::strerror(errno));
    if (n == 0) throw FileError(fmt::format("{}: ended at byte {} while being read ({} bytes when opened)", path_, at, size_));
    at += static_cast<uint64_t>(n);
  }
  // Read-only like a mapping of the file: a stray write faults instead of changing the weights.
  if (copy_.get_deleter().mapped > 0) ::mprotect(copy_.get(), copy_.get_deleter().mapped, PROT_READ);
  data_ = copy_.get();
}

std::shared_ptr<const MappedFile> MappedFile::shared(const std::string& path, Pages pages) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, Pages>, std::weak_ptr<const MappedFile>> live;
  struct stat st {};
  std::lock_guard lock(mutex);
  const auto key = std::make_pair(path, pages);
  if (::stat(path.c_str(), &st) == 0) {
    auto it = live.find(key);
    if (it != live.end())
      if (auto m = it->second.lock(); m && m->version_ == version_of<Version>(st)) return m;
  }
  auto m = std::make_shared<const MappedFile>(path, pages);
  live[key] = m;
  return m;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr && !copy_) ::munmap(const_cast<std::byte*>(data_), size_);  // copy_ frees itself
}

}  // namespace accelab
