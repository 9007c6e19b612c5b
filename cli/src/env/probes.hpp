// Machine probes for rooflines: how fast this CPU reads memory and multiplies float matrices,
// measured with the same SIMD kernels (accelab_cpu_kernels) the CPU backends use. Like STREAM,
// each probe reports the best of several timed passes: the best pass is the one least disturbed
// by other processes, which is what a ceiling should be. The median of the passes is reported
// beside it, as a hint of how much the machine drifted while it was measured.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace accelab {

/// Smallest and largest array probe_read_bandwidth() reads: below 1 MiB a pass is dominated by
/// thread synchronization, above 2 GiB the probe would compete with the model for memory.
inline constexpr uint64_t kMinProbeArrayBytes = uint64_t{1} << 20;
inline constexpr uint64_t kMaxProbeArrayBytes = uint64_t{2} << 30;

/// A read-bandwidth measurement.
struct BandwidthProbe {
  uint64_t array_bytes = 0;       ///< Bytes read per sweep, after clamping (see above).
  int threads = 0;                ///< Threads that read, each its own contiguous slice.
  double bytes_per_s = 0;         ///< Best timed pass: array_bytes × sweeps / seconds.
  double median_bytes_per_s = 0;  ///< Median over the timed passes.
  int passes = 0;                 ///< Timed passes (a warm-up pass precedes them).
  int sweeps_per_pass = 0;        ///< Reads of the whole array in one pass.
  double seconds = 0;             ///< Wall time of the probe, allocation and fill included.
};

/// The shape of a GEMM probe: Y[m x n] = X[m x k] W[n x k]^T, float32 throughout.
struct GemmShape {
  int64_t m = 512;   ///< Rows of X and Y (tokens of a prefill).
  int64_t n = 2048;  ///< Rows of W, columns of Y (output features).
  int64_t k = 2048;  ///< Columns of X and W (input features).
};

/// A 512-token prefill through a tinyllama-1.1b attention projection (dim 2048).
inline constexpr GemmShape kPrefillGemmShape{};

/// A matrix-multiplication throughput measurement.
struct GemmProbe {
  GemmShape shape;
  int threads = 0;                ///< Threads, each computing a block of Y's columns.
  double flops_per_s = 0;         ///< Best timed pass: 2·m·n·k / seconds.
  double median_flops_per_s = 0;  ///< Median over the timed passes.
  int passes = 0;                 ///< Timed passes (a warm-up pass precedes them).
  double seconds = 0;             ///< Wall time of the probe, allocation included.
};

/// Both probes, with the kernels that ran them.
struct ProbeResult {
  std::string kernel_isa;  ///< best_kernels().isa: "avx512", "avx2" or "generic".
  BandwidthProbe read_bandwidth;
  GemmProbe gemm;
};

/// Read bandwidth of an array of `array_bytes` (clamped to [kMinProbeArrayBytes,
/// kMaxProbeArrayBytes], rounded down to 64 bytes), 64-byte aligned and filled by the threads
/// that later read it (so each slice's pages are local to its reader). Each of `threads`
/// threads (at least 1) sums its own contiguous slice with the kernels' read_sum. Passes are
/// timed until `seconds` have passed, with at least three timed passes. Throws std::bad_alloc
/// when the array cannot be allocated.
BandwidthProbe probe_read_bandwidth(uint64_t array_bytes, int threads, double seconds);

/// Float32 GEMM rate of `shape` (default: kPrefillGemmShape) with the kernels' gemm: Y's
/// columns are split into `threads` (at least 1) contiguous blocks, one per thread. Passes are
/// timed until `seconds` have passed, with at least three timed passes.
GemmProbe probe_gemm(int threads, double seconds, GemmShape shape = kPrefillGemmShape);

/// Both probes, `seconds_each` each: bandwidth over an array of `weight_bytes` (clamped as in
/// probe_read_bandwidth) and the prefill GEMM.
ProbeResult run_probes(uint64_t weight_bytes, int threads, double seconds_each);

/// {"array_bytes", "threads", "bytes_per_s", "median_bytes_per_s", "passes",
///  "sweeps_per_pass", "seconds"}.
nlohmann::json to_json(const BandwidthProbe& p);
/// {"m", "n", "k", "weight_type": "f32", "threads", "flops_per_s", "median_flops_per_s",
///  "passes", "seconds"}.
nlohmann::json to_json(const GemmProbe& p);
/// {"kernel_isa", "read_bandwidth": {...}, "gemm": {...}}.
nlohmann::json to_json(const ProbeResult& p);

/// Seconds per probe for `accelab run`: $ACCELAB_PROBE_SECONDS when set, else `fallback`.
/// Throws UsageError when the variable is not a finite number in [0, 600].
double probe_seconds_from_env(double fallback);

}  // namespace accelab
