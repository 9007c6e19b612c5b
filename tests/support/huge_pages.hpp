// What the kernel says of a process's pages: for tests of memory advised to huge pages.
#pragma once

#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace accelab::test_support {

/// KiB of the mapping that holds `p` in anonymous huge pages (/proc/self/smaps), or nullopt
/// where no mapping holds it or smaps cannot be read.
inline std::optional<uint64_t> anon_huge_kib(const void* p) {
  std::ifstream in("/proc/self/smaps");
  const auto at = reinterpret_cast<uintptr_t>(p);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    // A mapping's first line starts "lo-hi perms"; the field lines that follow start "Name:".
    const auto dash = line.find('-'), space = line.find(' ');
    if (dash != std::string::npos && space != std::string::npos && dash < space && line.find(':') > space) {
      if (inside) return std::nullopt;
      const uint64_t lo = std::stoull(line.substr(0, dash), nullptr, 16);
      const uint64_t hi = std::stoull(line.substr(dash + 1, space - dash - 1), nullptr, 16);
      inside = lo <= at && at < hi;
      continue;
    }
    if (inside && line.rfind("AnonHugePages:", 0) == 0) {
      std::istringstream fields(line.substr(14));
      uint64_t kib = 0;
      fields >> kib;
      return kib;
    }
  }
  return std::nullopt;
}

}  // namespace accelab::test_support
