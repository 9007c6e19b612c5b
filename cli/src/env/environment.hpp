// The environment record every experiment result carries: hardware, OS, toolchain, source
// revision and library versions, so that a number can be traced to where it was measured.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace accelab {

/// What the host CPU is, as far as /proc/cpuinfo and sysfs tell.
struct CpuInfo {
  std::string model;               ///< "model name" (x86) or the nearest equivalent; may be empty.
  std::vector<std::string> flags;  ///< ISA feature flags ("flags" / "Features"); may be empty.
  int logical_cores = 0;           ///< Online hardware threads; at least 1.
  int physical_cores = 0;          ///< Distinct (package, core) pairs; logical_cores if unknown.
  std::string cache_summary;       ///< e.g. "L1d 48K, L1i 32K, L2 2048K, L3 107520K"; may be empty.
};

/// Reads the CPU description from /proc/cpuinfo and /sys/devices/system/cpu. Never throws:
/// missing files leave fields empty and core counts fall back to
/// std::thread::hardware_concurrency.
CpuInfo read_cpu_info();

/// The environment block as JSON (nulls where something is unavailable; never throws):
/// {"cpu": {"model", "flags": [...], "logical_cores", "physical_cores", "caches"},
///  "memory_bytes" (MemTotal), "os": {"kernel", "system", "machine", "hostname",
///  "transparent_hugepages" (transparent_hugepage_mode)},
///  "compiler": {"id", "version", "flags"}, "build_type", "git": {"commit", "dirty"},
///  "libraries": {"boost", "fmt", "nlohmann_json", and "tomlplusplus" / "eigen" / "tbb" when
///  their headers were available at build time}, "accelab_version",
///  "plugin_abi": {"major", "minor"}, "gpu": null}.
/// The git fields are read at runtime from ACCELAB_SOURCE_DIR, so they describe the checkout
/// the binary was built from only while that checkout is unchanged.
nlohmann::json environment_json();

/// The transparent huge page mode the kernel runs ("always", "madvise", "never": the bracketed
/// word of /sys/kernel/mm/transparent_hugepage/enabled), or nullopt where it has none.
std::optional<std::string> transparent_hugepage_mode();

}  // namespace accelab
