#include "env/resources.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace accelab {
namespace {

/// The "VmHWM:" line of /proc/self/status in bytes, or 0 when absent.
uint64_t status_vm_hwm_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmHWM:"))
      return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;  // kB
  }
  return 0;
}

}  // namespace

uint64_t peak_rss_bytes() {
  // VmHWM first: ru_maxrss also folds in the high-water marks of exited threads and of the
  // pre-exec image, so it cannot be reset by clear_refs.
  if (const uint64_t hwm = status_vm_hwm_bytes(); hwm != 0) return hwm;
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0 || usage.ru_maxrss < 0) return 0;
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports kB
}

uint64_t current_rss_bytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size_pages = 0;
  uint64_t resident_pages = 0;
  if (!(in >> size_pages >> resident_pages)) return 0;
  const long page = sysconf(_SC_PAGESIZE);
  return resident_pages * static_cast<uint64_t>(page > 0 ? page : 4096);
}

bool reset_peak_rss() {
  const int fd = ::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool written = ::write(fd, "5", 1) == 1;
  ::close(fd);
  return written;
}

}  // namespace accelab
