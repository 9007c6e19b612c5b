#include "env/environment.hpp"

#include <accelab/plugin.h>
#include <fmt/core.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/version.hpp>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>

// Optional libraries: recorded when their headers were visible at build time. The lightest
// header that defines the version macros is preferred, since this is the only use.
#if __has_include(<toml++/toml.h>)
#if __has_include(<toml++/impl/version.h>)
#include <toml++/impl/version.h>
#else
#include <toml++/toml.h>
#endif
#endif
#if __has_include(<eigen3/Eigen/src/Core/util/Macros.h>)
#include <eigen3/Eigen/src/Core/util/Macros.h>
#elif __has_include(<Eigen/src/Core/util/Macros.h>)
#include <Eigen/src/Core/util/Macros.h>
#elif __has_include(<Eigen/Core>)
#include <Eigen/Core>
#endif
#if __has_include(<oneapi/tbb/version.h>)
#include <oneapi/tbb/version.h>
#elif __has_include(<tbb/version.h>)
#include <tbb/version.h>
#endif

namespace accelab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

/// First line of a small (sysfs) file, trimmed; empty when unreadable.
std::string read_first_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return trim(line);
}

/// The cache levels of cpu0 as "L1d 48K, L1i 32K, L2 2048K, L3 107520K" (sizes per instance,
/// as sysfs reports them).
std::string read_cache_summary() {
  std::string summary;
  for (int index = 0;; ++index) {
    const fs::path dir = fmt::format("/sys/devices/system/cpu/cpu0/cache/index{}", index);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) break;
    const std::string level = read_first_line(dir / "level");
    const std::string type = read_first_line(dir / "type");
    const std::string size = read_first_line(dir / "size");
    if (level.empty() || size.empty()) continue;
    const std::string suffix = type == "Data" ? "d" : type == "Instruction" ? "i" : "";
    if (!summary.empty()) summary += ", ";
    summary += fmt::format("L{}{} {}", level, suffix, size);
  }
  return summary;
}

/// Distinct (package, core) pairs from sysfs topology; 0 when sysfs has none.
int count_sysfs_physical_cores() {
  std::set<std::pair<std::string, std::string>> cores;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/devices/system/cpu", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 4 || !name.starts_with("cpu") ||
        !std::all_of(name.begin() + 3, name.end(), [](unsigned char c) { return std::isdigit(c); }))
      continue;
    const std::string core = read_first_line(entry.path() / "topology/core_id");
    if (core.empty()) continue;
    cores.emplace(read_first_line(entry.path() / "topology/physical_package_id"), core);
  }
  return static_cast<int>(cores.size());
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> words;
  std::istringstream in(s);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

/// Value of `key` in /proc/meminfo, in bytes; nullopt when absent.
std::optional<uint64_t> meminfo_bytes(std::string_view key) {
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || std::string_view(line).substr(0, colon) != key) continue;
    std::istringstream value(line.substr(colon + 1));
    uint64_t kib = 0;
    if (value >> kib) return kib * 1024;
  }
  return std::nullopt;
}

json memory_json() {
  if (const auto total = meminfo_bytes("MemTotal")) return *total;
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0) return static_cast<uint64_t>(pages) * page_size;
  return nullptr;
}

// Whether weights and the bandwidth probe get huge pages (accelab_cpu/huge_pages.hpp), which
// moves decode speed by 10-20%.
json thp_json() {
  const auto mode = transparent_hugepage_mode();
  return mode ? json(*mode) : json(nullptr);
}

json os_json() {
  utsname u{};
  if (uname(&u) != 0) {
    return {{"kernel", nullptr}, {"system", nullptr}, {"machine", nullptr}, {"hostname", nullptr},
            {"transparent_hugepages", thp_json()}};
  }
  return {{"kernel", u.release},
          {"system", u.sysname},
          {"machine", u.machine},
          {"hostname", u.nodename},
          {"transparent_hugepages", thp_json()}};
}

json compiler_json() {
#if defined(__clang__)
  const std::string id = "Clang";
  const std::string version =
      fmt::format("{}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  const std::string id = "GCC";
  const std::string version =
      fmt::format("{}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  const std::string id = "unknown";
  const std::string version = "unknown";
#endif
#ifdef ACCELAB_CXX_FLAGS
  const std::string flags = trim(ACCELAB_CXX_FLAGS);
#else
  const std::string flags = "unknown";
#endif
  return {{"id", id}, {"version", version}, {"flags", flags}};
}

std::string build_type() {
#ifdef ACCELAB_BUILD_TYPE
  return ACCELAB_BUILD_TYPE;
#else
  return "unknown";
#endif
}

std::string accelab_version() {
#ifdef ACCELAB_VERSION
  return ACCELAB_VERSION;
#else
  return "unknown";
#endif
}

/// Stdout of a shell command, or nullopt when it cannot run or exits non-zero.
std::optional<std::string> run_command(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string output;
  std::array<char, 4096> buffer{};
  for (size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;) {
    output.append(buffer.data(), n);
  }
  const int status = pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return output;
}

std::string shell_quote(std::string_view s) {
  std::string quoted = "'";
  for (const char c : s) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

bool is_object_id(const std::string& s) {
  return (s.size() == 40 || s.size() == 64) &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c); });
}

json git_json() {
  json git = {{"commit", nullptr}, {"dirty", nullptr}};
#ifdef ACCELAB_SOURCE_DIR
  // --no-optional-locks: status must not take the index lock of a checkout someone is using.
  const std::string git_cmd = "git --no-optional-locks -C " + shell_quote(ACCELAB_SOURCE_DIR);
  const auto head = run_command(git_cmd + " rev-parse HEAD 2>/dev/null");
  if (!head || !is_object_id(trim(*head))) return git;
  git["commit"] = trim(*head);
  if (const auto status =
          run_command(git_cmd + " status --porcelain --untracked-files=no 2>/dev/null")) {
    git["dirty"] = !trim(*status).empty();
  }
#endif
  return git;
}

json libraries_json() {
  json libs = json::object();
  libs["boost"] = fmt::format("{}.{}.{}", BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000,
                              BOOST_VERSION % 100);
  libs["fmt"] =
      fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
  libs["nlohmann_json"] = fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR,
                                      NLOHMANN_JSON_VERSION_MINOR, NLOHMANN_JSON_VERSION_PATCH);
#ifdef TOML_LIB_MAJOR
  libs["tomlplusplus"] = fmt::format("{}.{}.{}", TOML_LIB_MAJOR, TOML_LIB_MINOR, TOML_LIB_PATCH);
#endif
#ifdef EIGEN_WORLD_VERSION
  libs["eigen"] =
      fmt::format("{}.{}.{}", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION);
#endif
#if defined(TBB_VERSION_STRING)
  libs["tbb"] = std::string(TBB_VERSION_STRING);
#elif defined(TBB_VERSION_MAJOR)
  libs["tbb"] = fmt::format("{}.{}", TBB_VERSION_MAJOR, TBB_VERSION_MINOR);
#endif
  return libs;
}

}  // namespace

CpuInfo read_cpu_info() {
  CpuInfo info;
  std::ifstream in("/proc/cpuinfo");
  int processors = 0;
  std::string physical_id;
  std::set<std::pair<std::string, std::string>> cores;
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(std::string_view(line).substr(0, colon));
    const std::string value = trim(std::string_view(line).substr(colon + 1));
    if (key == "processor") {
      ++processors;
    } else if (info.model.empty() &&
               (key == "model name" || key == "Processor" || key == "cpu model")) {
      info.model = value;
    } else if (info.flags.empty() && (key == "flags" || key == "Features")) {
      info.flags = split_words(value);
    } else if (key == "physical id") {
      physical_id = value;
    } else if (key == "core id") {
      cores.emplace(physical_id, value);
    }
  }
  const int hardware = static_cast<int>(std::thread::hardware_concurrency());
  info.logical_cores = processors > 0 ? processors : std::max(hardware, 1);
  info.physical_cores =
      !cores.empty() ? static_cast<int>(cores.size()) : count_sysfs_physical_cores();
  if (info.physical_cores <= 0) info.physical_cores = info.logical_cores;
  info.cache_summary = read_cache_summary();
  return info;
}

std::optional<std::string> transparent_hugepage_mode() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  const auto open = line.find('['), close = line.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return std::nullopt;
  return line.substr(open + 1, close - open - 1);
}

nlohmann::json environment_json() {
  const CpuInfo cpu = read_cpu_info();
  return {
      {"cpu",
       {{"model", cpu.model},
        {"flags", cpu.flags},
        {"logical_cores", cpu.logical_cores},
        {"physical_cores", cpu.physical_cores},
        {"caches", cpu.cache_summary}}},
      {"memory_bytes", memory_json()},
      {"os", os_json()},
      {"compiler", compiler_json()},
      {"build_type", build_type()},
      {"git", git_json()},
      {"libraries", libraries_json()},
      {"accelab_version", accelab_version()},
      {"plugin_abi", {{"major", ACCELAB_ABI_MAJOR}, {"minor", ACCELAB_ABI_MINOR}}},
      {"gpu", nullptr},
  };
}

}  // namespace accelab
