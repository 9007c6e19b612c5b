#include "env/probes.hpp"

#include <accelab_cpu/huge_pages.hpp>
#include <accelab_cpu/kernels.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include "util/error.hpp"

namespace accelab {
namespace {

using Clock = std::chrono::steady_clock;
using Job = std::function<void(int thread)>;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// Floats for a probe in huge pages from 2 MiB on, as the quantized weights and the loaded model
/// files are (accelab_cpu/huge_pages.hpp): with 4 KiB pages the probe would read slower than the
/// kernels could stream. Zeroed.
struct AlignedFloats {
  accelab::cpu::StreamBuffer bytes;
  float* get() const { return reinterpret_cast<float*>(bytes.get()); }
  float& operator[](std::integral auto i) const { return get()[i]; }
};

AlignedFloats alloc_floats(uint64_t count) {
  return {accelab::cpu::stream_buffer(static_cast<size_t>(count * sizeof(float)))};
}

/// `threads` workers that run one job together per pass. The threads live as long as the team,
/// so a pass measures the work and two barrier crossings, not thread creation.
class ThreadTeam {
 public:
  explicit ThreadTeam(int threads) : start_(threads + 1), end_(threads + 1) {
    try {
      for (int t = 0; t < threads; ++t) workers_.emplace_back([this, t] { work(t); });
    } catch (...) {
      // The start barrier waits for threads that were never created: arrive for them, then
      // release the ones that were.
      (void)start_.arrive(threads - static_cast<int>(workers_.size()));
      stop();
      throw;
    }
  }
  ~ThreadTeam() { stop(); }
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;

  /// Runs `job(t)` on every thread t at once; returns the seconds until the last one finished.
  double run(const Job& job) {
    job_ = &job;
    const auto t0 = Clock::now();
    start_.arrive_and_wait();
    end_.arrive_and_wait();
    return seconds_since(t0);
  }

 private:
  void work(int t) {
    for (;;) {
      start_.arrive_and_wait();
      if (stopping_) return;
      (*job_)(t);
      end_.arrive_and_wait();
    }
  }
  void stop() {
    if (workers_.empty()) return;
    stopping_ = true;  // published to the workers by the barrier
    start_.arrive_and_wait();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::barrier<> start_, end_;
  const Job* job_ = nullptr;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

/// Times passes of `job` until `budget_s` has passed and at least three were timed.
std::vector<double> timed_passes(ThreadTeam& team, const Job& job, double budget_s) {
  std::vector<double> seconds;
  const auto start = Clock::now();
  do {
    seconds.push_back(team.run(job));
  } while (seconds.size() < 3 || seconds_since(start) < budget_s);
  return seconds;
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  const size_t n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

/// [begin, end) of part `t` of `n` items split `parts` ways, boundaries on multiples of 16
/// (64 bytes of floats) so no two threads share a cache line.
std::pair<int64_t, int64_t> split(int64_t n, int parts, int t) {
  auto edge = [&](int i) { return i == parts ? n : n * i / parts / 16 * 16; };
  return {edge(t), edge(t + 1)};
}

// Per-thread sums, a cache line apart; summed at the end so the reads have an observable result.
struct alignas(64) PaddedSum {
  double value = 0;
};
volatile double g_probe_sink = 0;

}  // namespace

BandwidthProbe probe_read_bandwidth(uint64_t array_bytes, int threads, double seconds) {
  const auto start = Clock::now();
  threads = std::max(threads, 1);
  BandwidthProbe out;
  out.threads = threads;
  out.array_bytes = std::clamp(array_bytes, kMinProbeArrayBytes, kMaxProbeArrayBytes) / 64 * 64;
  const auto n = static_cast<int64_t>(out.array_bytes / sizeof(float));
  AlignedFloats data = alloc_floats(static_cast<uint64_t>(n));
  const accelab::cpu::KernelTable& k = accelab::cpu::best_kernels();
  std::vector<PaddedSum> sums(static_cast<size_t>(threads));
  ThreadTeam team(threads);

  team.run([&](int t) {
    const auto [b, e] = split(n, threads, t);
    std::fill(data.get() + b, data.get() + e, 1.0f);
  });
  int sweeps = 1;
  const Job read = [&](int t) {
    const auto [b, e] = split(n, threads, t);
    for (int s = 0; s < sweeps; ++s) sums[static_cast<size_t>(t)].value += k.read_sum(data.get() + b, e - b);
  };
  // The warm-up pass also sizes a pass: long enough that the barriers cost nothing, short
  // enough that the budget holds several passes.
  const double one_sweep = std::max(team.run(read), 1e-9);
  const double pass_target = std::clamp(seconds / 10, 0.002, 0.1);
  sweeps = static_cast<int>(std::clamp(std::ceil(pass_target / one_sweep), 1.0, 1e6));
  const std::vector<double> passes = timed_passes(team, read, seconds);

  const double bytes_per_pass = static_cast<double>(out.array_bytes) * sweeps;
  out.bytes_per_s = bytes_per_pass / *std::min_element(passes.begin(), passes.end());
  out.median_bytes_per_s = bytes_per_pass / median(passes);
  out.passes = static_cast<int>(passes.size());
  out.sweeps_per_pass = sweeps;
  double total = 0;
  for (const auto& s : sums) total += s.value;
  g_probe_sink = g_probe_sink + total;
  out.seconds = seconds_since(start);
  return out;
}

GemmProbe probe_gemm(int threads, double seconds, GemmShape shape) {
  const auto start = Clock::now();
  threads = std::max(threads, 1);
  GemmProbe out;
  out.shape = shape;
  out.threads = threads;
  const int64_t m = shape.m, n = shape.n, kk = shape.k;
  AlignedFloats x = alloc_floats(static_cast<uint64_t>(m * kk));
  AlignedFloats w = alloc_floats(static_cast<uint64_t>(n * kk));
  AlignedFloats y = alloc_floats(static_cast<uint64_t>(m * n));
  // Small values of both signs: no overflow, no denormals, nothing a kernel could skip.
  for (int64_t i = 0; i < m * kk; ++i) x[i] = static_cast<float>(i % 17 - 8) * 0.01f;
  for (int64_t i = 0; i < n * kk; ++i) w[i] = static_cast<float>(i % 13 - 6) * 0.01f;
  const accelab::cpu::KernelTable& k = accelab::cpu::best_kernels();
  ThreadTeam team(threads);

  const Job multiply = [&](int t) {
    const auto [b, e] = split(n, threads, t);
    if (b < e)
      k.gemm(accelab::cpu::WeightType::f32, w.get(), x.get(), kk, y.get(), n, m, kk, b, e);
  };
  team.run(multiply);  // warm-up: caches, page faults of y, the kernels' one-time choice
  const std::vector<double> passes = timed_passes(team, multiply, seconds);

  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(kk);
  out.flops_per_s = flops / *std::min_element(passes.begin(), passes.end());
  out.median_flops_per_s = flops / median(passes);
  out.passes = static_cast<int>(passes.size());
  g_probe_sink = g_probe_sink + y[static_cast<size_t>(m * n - 1)];
  out.seconds = seconds_since(start);
  return out;
}

ProbeResult run_probes(uint64_t weight_bytes, int threads, double seconds_each) {
  ProbeResult out;
  out.kernel_isa = accelab::cpu::best_kernels().isa;
  out.read_bandwidth = probe_read_bandwidth(weight_bytes, threads, seconds_each);
  out.gemm = probe_gemm(threads, seconds_each);
  return out;
}

nlohmann::json to_json(const BandwidthProbe& p) {
  return {{"array_bytes", p.array_bytes},
          {"threads", p.threads},
          {"bytes_per_s", p.bytes_per_s},
          {"median_bytes_per_s", p.median_bytes_per_s},
          {"passes", p.passes},
          {"sweeps_per_pass", p.sweeps_per_pass},
          {"seconds", p.seconds}};
}

nlohmann::json to_json(const GemmProbe& p) {
  return {{"m", p.shape.m},
          {"n", p.shape.n},
          {"k", p.shape.k},
          {"weight_type", "f32"},
          {"threads", p.threads},
          {"flops_per_s", p.flops_per_s},
          {"median_flops_per_s", p.median_flops_per_s},
          {"passes", p.passes},
          {"seconds", p.seconds}};
}

nlohmann::json to_json(const ProbeResult& p) {
  return {{"kernel_isa", p.kernel_isa},
          {"read_bandwidth", to_json(p.read_bandwidth)},
          {"gemm", to_json(p.gemm)}};
}

double probe_seconds_from_env(double fallback) {
  const char* text = std::getenv("ACCELAB_PROBE_SECONDS");
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const double s = std::strtod(text, &end);
  if (end == text || *end != '\0' || !std::isfinite(s) || s < 0 || s > 600)
    throw UsageError(fmt::format(
        "ACCELAB_PROBE_SECONDS='{}': expected seconds per probe, a number in [0, 600]", text));
  return s;
}

}  // namespace accelab
