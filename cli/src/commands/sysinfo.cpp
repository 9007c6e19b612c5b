// accelab sysinfo: the CPU, the kernels chosen for it, and its measured read bandwidth (cache-
// resident and DRAM-sized) and float32 GEMM rate — the ceilings `accelab run` compares rows with.
#include <algorithm>
#include <accelab_cpu/kernels.hpp>
#include <fmt/core.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "env/environment.hpp"
#include "env/probes.hpp"
#include "util/error.hpp"

namespace accelab {
namespace {

constexpr uint64_t kCacheProbeBytes = uint64_t{8} << 20;

/// "1073741824", "1G", "1GiB", "512M", "64K" (binary multiples) as bytes; throws UsageError.
uint64_t parse_size(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const std::string_view suffix = std::string_view(text).substr(digits);
  int shift = -1;
  if (suffix.empty() || suffix == "B") shift = 0;
  else if (suffix == "K" || suffix == "KiB") shift = 10;
  else if (suffix == "M" || suffix == "MiB") shift = 20;
  else if (suffix == "G" || suffix == "GiB") shift = 30;
  if (digits == 0 || digits > 12 || shift < 0)
    throw UsageError(fmt::format("--size '{}': expected bytes, optionally with K, M or G (KiB, "
                                 "MiB, GiB), e.g. 1G",
                                 text));
  const uint64_t bytes = std::stoull(text.substr(0, digits)) << shift;
  if (bytes < kMinProbeArrayBytes || bytes > kMaxProbeArrayBytes)
    throw UsageError(fmt::format("--size {}: must be between 1 MiB and 2 GiB", text));
  return bytes;
}

bool is_simd_flag(std::string_view flag) {
  for (std::string_view prefix : {"sse", "ssse", "avx", "fma", "f16c", "amx", "asimd", "neon", "sve"})
    if (flag.starts_with(prefix)) return true;
  return false;
}

std::string size_text(uint64_t bytes) {
  if (bytes % (uint64_t{1} << 30) == 0) return fmt::format("{} GiB", bytes >> 30);
  if (bytes % (uint64_t{1} << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20));
}

void print_rate(const std::string& label, double best, double median, const char* unit, int passes) {
  fmt::print("  {:<40} {:>7.1f} {:<7} (median {:.1f}, {} passes)\n", label, best, unit, median, passes);
  std::fflush(stdout);  // the probes take seconds: show each line as it is measured
}

void print_bandwidth(const char* what, const BandwidthProbe& p) {
  print_rate(fmt::format("read bandwidth, {} ({})", size_text(p.array_bytes), what),
             p.bytes_per_s / 1e9, p.median_bytes_per_s / 1e9, "GB/s", p.passes);
}

}  // namespace

int cmd_sysinfo(const Args& args) {
  CommonOptions common;
  bool json = false;
  std::string size = "1G";
  std::string model;
  int threads = 0;
  double seconds = 2;
  po::options_description opts("options");
  opts.add_options()("json", po::bool_switch(&json), "print JSON")
      ("size", po::value(&size)->default_value("1G"), "bytes of the DRAM-sized bandwidth probe (1M to 2G; K, M, G suffixes)")
      ("model", po::value(&model), "size the bandwidth probe like this model's weights instead of --size (as `accelab run` does)")
      ("threads", po::value(&threads)->default_value(0), "probe threads (0 = every logical core)")
      ("seconds", po::value(&seconds)->default_value(2.0), "seconds per probe");
  auto parsed = parse_args(args, "sysinfo [--json] [--size BYTES | --model M] [--threads N] [--seconds S]",
                           "Shows the CPU and the kernels chosen for it, and measures its read "
                           "bandwidth (8 MiB, cache-resident, and --size, DRAM-sized) and float32 "
                           "GEMM rate: best pass, STREAM-style.",
                           opts, {}, common);
  if (parsed.help) return 0;
  const uint64_t dram_bytes =
      model.empty() ? parse_size(size)
                    : std::clamp(load_model(model)->weight_bytes(), kMinProbeArrayBytes, kMaxProbeArrayBytes);
  if (threads < 0 || threads > 1024) throw UsageError("--threads must be in [0, 1024]");
  if (!std::isfinite(seconds) || seconds <= 0 || seconds > 600)
    throw UsageError("--seconds must be in (0, 600]");

  const CpuInfo cpu = read_cpu_info();
  if (threads == 0) threads = cpu.logical_cores;
  std::vector<std::string> simd;
  for (const auto& f : cpu.flags)
    if (is_simd_flag(f)) simd.push_back(f);
  const char* isa = accelab::cpu::best_kernels().isa;
  const std::vector<std::string> isas = accelab::cpu::available_isas();

  if (!json) {
    fmt::print("CPU       {}\n", cpu.model.empty() ? "unknown" : cpu.model);
    fmt::print("cores     {} physical, {} logical\n", cpu.physical_cores, cpu.logical_cores);
    fmt::print("caches    {}\n", cpu.cache_summary.empty() ? "unknown" : cpu.cache_summary);
    fmt::print("SIMD      {}\n", simd.empty() ? "none reported" : fmt::format("{}", fmt::join(simd, " ")));
    fmt::print("kernels   {} (usable here: {})\n\n", isa, fmt::join(isas, ", "));
    fmt::print("probes: {} thread{}, {} s each; best pass\n", threads, threads == 1 ? "" : "s", seconds);
  }
  const BandwidthProbe cache = probe_read_bandwidth(kCacheProbeBytes, threads, seconds);
  if (!json) print_bandwidth("cache-resident", cache);
  const BandwidthProbe dram = probe_read_bandwidth(dram_bytes, threads, seconds);
  if (!json) print_bandwidth(model.empty() ? "DRAM-sized" : "sized like the model", dram);
  const GemmProbe gemm = probe_gemm(threads, seconds);
  if (!json) {
    print_rate(fmt::format("f32 GEMM m={} n={} k={}", gemm.shape.m, gemm.shape.n, gemm.shape.k),
               gemm.flops_per_s / 1e9, gemm.median_flops_per_s / 1e9, "GFLOP/s", gemm.passes);
    return 0;
  }
  nlohmann::json env = environment_json();
  nlohmann::json out = {
      {"environment", env},
      {"simd_flags", simd},
      {"kernels", {{"isa", isa}, {"available", isas}}},
      {"probes",
       {{"threads", threads},
        {"seconds_each", seconds},
        {"read_bandwidth_cache", to_json(cache)},
        {"read_bandwidth_dram", to_json(dram)},
        {"gemm", to_json(gemm)}}}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace accelab
