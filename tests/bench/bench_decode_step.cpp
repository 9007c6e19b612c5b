// Decode and prefill steps from DRAM with several threads: the matrices of TinyLlama layers
// (fused q/k/v, o, fused gate/up, down; at least 1 GiB of weights per decode step in every
// format, 8 layers per prefill step) in f32, q8 and q4 (and q4_asym, and 4-bit with two-level
// scales), each product split between the threads
// as GraphBackend splits it (a decode step by BalancedSplit in panels of 8 rows, a prefill in
// blocks of 64 outputs), on the fork-join pool cpu-eigen uses. Bytes/s of weights
// streamed (codes, scales and mins for the quantized ones; FLOP/s too for prefill): the end-to-end
// rate without attention and norms, to compare the formats' efficiency side by side.
#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "accelab_cpu/quant.hpp"
#include "balanced_split.hpp"
#include "bench_common.hpp"
#include "thread_pool.hpp"

namespace accelab::cpu::bench {
namespace {

struct Shape {
  int64_t out, in;
};
constexpr Shape kLayer[] = {{2560, 2048}, {2048, 2048}, {11264, 2048}, {2048, 5632}};
constexpr int64_t kLayerWeights = [] {
  int64_t n = 0;
  for (Shape s : kLayer) n += s.out * s.in;
  return n;
}();

/// Layers a decode step streams: at least 1 GiB of weights of `bits` per weight (scales
/// included), as TinyLlama's int8 and int4 do, and at least 8. With 8 layers for every format
/// (200 MB of q4, 375 MB of q8) a step was not safely beyond the caches: the Zen 5 machine's L3
/// keeps part of a stream it cannot hold (a throwaway's plain stream of 100 MiB per thread read
/// 15% faster than one of 290 MiB), though the q8 and q4 kernels measured alike with both sizes
/// in one sitting.
int decode_layers(double bits) {
  return std::max(8, static_cast<int>(std::ceil(double(int64_t{1} << 30) * 8 / (bits * double(kLayerWeights)))));
}
/// Layers a prefill step multiplies: its products are compute-bound, and 8 keep a pass short.
constexpr int kPrefillLayers = 8;

/// The products of `layers` layers: all four of each (which < 0), or as many copies of
/// kLayer[which] as make that many layers' worth of weights.
std::vector<Shape> step_shapes(int which, int layers) {
  std::vector<Shape> shapes;
  for (int l = 0; l < layers; ++l)
    for (Shape s : kLayer)
      if (which < 0) shapes.push_back(s);
  if (which >= 0) {
    const Shape s = kLayer[which];
    shapes.assign(static_cast<size_t>(layers * kLayerWeights / (s.out * s.in)), s);
  }
  return shapes;
}

std::string shape_name(Shape s) { return std::to_string(s.out) + "x" + std::to_string(s.in); }

struct QuantLayers {
  std::vector<QuantMatrix> matrices;  // each owns its repacked rows
};

/// A format and how its block scales are stored: f16, or two-level (8-bit codes times a factor
/// per row).
struct QuantKind {
  QuantFormat format;
  bool two_level = false;
  /// Bits per weight streamed, at blocks of 32 (the factors' few bits per row left out).
  [[nodiscard]] double bits() const {
    const double code = format == QuantFormat::q8 ? 8 : 4, sets = format == QuantFormat::q4_asym ? 2 : 1;
    return code + sets * (two_level ? 8 : 16) / 32;
  }
};

// Cached while the benchmarks of one `which` run (gigabytes each): a different `which` drops
// the others.
const QuantLayers& quant_layers(QuantKind kind, int which, int layers) {
  const QuantFormat f = kind.format;
  static std::map<std::tuple<int, bool, int, int>, std::unique_ptr<QuantLayers>> cache;
  std::erase_if(cache, [&](const auto& entry) { return std::get<2>(entry.first) != which; });
  auto& q = cache[{static_cast<int>(f), kind.two_level, which, layers}];
  if (q) return *q;
  q = std::make_unique<QuantLayers>();
  std::mt19937 rng(5);
  std::vector<uint8_t> pattern(65536);
  for (uint8_t& b : pattern) b = static_cast<uint8_t>(rng() % 256);
  if (f == QuantFormat::q8)
    for (uint8_t& b : pattern) b = b == 128 ? 0 : b;  // int8 codes in [-127, 127]
  for (Shape s : step_shapes(which, layers)) {
    std::vector<uint8_t> codes(static_cast<size_t>(s.out * (f == QuantFormat::q8 ? s.in : s.in / 2)));
    for (size_t at = 0; at < codes.size(); at += pattern.size())
      std::memcpy(codes.data() + at, pattern.data(), std::min(pattern.size(), codes.size() - at));
    const auto blocks = static_cast<size_t>(s.out * s.in / 32);
    const bool asym = f == QuantFormat::q4_asym;
    QuantSource src{f, codes.data(), nullptr, nullptr, s.out, s.in, 32};
    const std::vector<uint16_t> scales(kind.two_level ? 0 : blocks, f32_to_f16(0.01f)),
        mins(kind.two_level || !asym ? 0 : blocks, f32_to_f16(-0.08f));
    const std::vector<uint8_t> scale_codes(kind.two_level ? blocks : 0, 200);
    const std::vector<int8_t> min_codes(kind.two_level && asym ? blocks : 0, -100);
    const std::vector<float> scale_factors(static_cast<size_t>(s.out), 0.01f / 200), min_factors(static_cast<size_t>(s.out), 0.0008f);
    if (kind.two_level) {
      src.scale_codes = scale_codes.data();
      src.scale_factors = scale_factors.data();
      if (asym) src.min_codes = min_codes.data(), src.min_factors = min_factors.data();
    } else {
      src.scales = scales.data();
      if (asym) src.mins = mins.data();
    }
    q->matrices.push_back(QuantMatrix::from(src));
  }
  return *q;
}

// What a quantized step does with each product's panels.
enum class QuantPass {
  multiply,
  // Decode only: each range's panels summed with read_sum instead of multiplied, the step's
  // bytes, split and joins as the kernel has them with no arithmetic: what the step's structure
  // allows the kernel (decode_step/q8read, q4read).
  read,
  // Decode only: each thread sums its equal part of every matrix in turn with read_sum, joined
  // once per step instead of once per product: what the step's bytes allow with no structure
  // at all (decode_step/q8read-unjoined, q4read-unjoined). Not a possible kernel: each product
  // needs the whole output of the one before it.
  read_unjoined,
};

// `rows` activation rows per product: 1 is a decode step, more a prefill (FLOP/s reported too).
void quant_step(benchmark::State& state, QuantKind kind, int which, int threads, int64_t rows,
                QuantPass pass = QuantPass::multiply) {
  const bool read = pass == QuantPass::read;
  const QuantLayers& layers = quant_layers(kind, which, rows == 1 ? decode_layers(kind.bits()) : kPrefillLayers);
  const QuantKernels& k = best_quant_kernels();
  const KernelTable& read_kernels = best_kernels();
  const float* x = shared_buffer("x/" + std::to_string(rows * 5632), static_cast<size_t>(rows * 5632) * 4).floats();
  std::vector<float> y(static_cast<size_t>(rows * 11264));
  QuantActivations a;
  a.reserve(rows, 5632);
  ThreadPoolExecutor pool(threads);
  BalancedSplit split(threads);
  uint64_t bytes = 0;
  double flops = 0;
  for (const QuantMatrix& w : layers.matrices) {
    bytes += w.stream_bytes();
    flops += 2.0 * double(rows) * double(w.rows()) * double(w.cols());
  }
  auto read_unjoined = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      for (const QuantMatrix& w : layers.matrices) {
        const auto [p0, p1] = chunk_bounds((w.rows() + QuantMatrix::kPanelRows - 1) / QuantMatrix::kPanelRows, threads, t);
        const auto* p = static_cast<const float*>(w.codes_) + p0 * w.panel_bytes_ / 4;
        y[static_cast<size_t>(t)] += read_kernels.read_sum(p, (p1 - p0) * w.panel_bytes_ / 4);
      }
  };
  auto step = [&] {
    if (pass == QuantPass::read_unjoined) {
      pool.parallel_chunks(threads, threads, read_unjoined);
      return;
    }
    for (const QuantMatrix& w : layers.matrices) {
      k.quantize(w, x, w.cols(), rows, a);
      // As GraphBackend splits a quantized product: a decode step's panels through BalancedSplit,
      // a prefill's blocks of 64 outputs.
      const int64_t unit = rows == 1 ? QuantMatrix::kPanelRows : 64;
      auto body = [&](int64_t c0, int64_t c1) {
        const int64_t o0 = std::min(w.rows(), c0 * unit), o1 = std::min(w.rows(), c1 * unit);
        if (o1 <= o0) return;
        if (read) {
          // Whole panels of codes read as floats: the random codes summed as fast as codes that
          // are all valid floats (a trial on the Zen 5; the sum itself means nothing).
          const auto* p = static_cast<const float*>(w.codes_) + w.panel_offset(o0) / 4;
          y[static_cast<size_t>(o0)] = read_kernels.read_sum(p, (w.panel_offset(o1 - 1) + w.panel_bytes_ - w.panel_offset(o0)) / 4);
        } else {
          k.gemm(w, a, y.data(), w.rows(), o0, o1);
        }
      };
      const int64_t units = (w.rows() + unit - 1) / unit;
      if (rows == 1)
        split.run(pool, units, decode_grain(unit * static_cast<int64_t>(w.stream_bytes()) / w.rows()), body);
      else
        pool.parallel_chunks(units, std::min<int64_t>(units, threads), body);
    }
  };
  step();
  for (auto _ : state) {
    step();
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
  if (rows > 1) state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

// `read` instead of a product: the threads sum every f32 matrix with read_sum (the bandwidth
// probe's loop), split and joined per matrix as in a decode step: what the step's
// structure allows a kernel with no arithmetic to stream.
void f32_step(benchmark::State& state, int which, int threads, bool read) {
  const std::vector<Shape> shapes = step_shapes(which, decode_layers(32));
  std::vector<const float*> ws;
  uint64_t bytes = 0;
  for (size_t m = 0; m < shapes.size(); ++m) {
    const Shape s = shapes[m];
    const size_t n = static_cast<size_t>(s.out * s.in) * 4;
    ws.push_back(shared_buffer("step/" + std::to_string(m) + "/" + shape_name(s), n).floats());
    bytes += n;
  }
  const KernelTable& k = best_kernels();
  const float* x = shared_buffer("x/5632", 5632 * 4).floats();
  std::vector<float> y(11264);
  ThreadPoolExecutor pool(threads);
  BalancedSplit split(threads);
  auto step = [&] {
    for (size_t m = 0; m < ws.size(); ++m) {
      const Shape s = shapes[m];
      // As GraphBackend splits a float GEMV: panels of 8 rows through BalancedSplit.
      constexpr int64_t kPanel = QuantMatrix::kPanelRows;
      auto body = [&](int64_t p0, int64_t p1) {
        const int64_t o0 = p0 * kPanel, o1 = std::min(s.out, p1 * kPanel);
        if (read)
          y[static_cast<size_t>(o0)] = k.read_sum(ws[m] + o0 * s.in, (o1 - o0) * s.in);
        else
          k.gemv(WeightType::f32, ws[m], x, y.data(), s.in, o0, o1);
      };
      split.run(pool, (s.out + kPanel - 1) / kPanel, decode_grain(kPanel * s.in * 4, kFloatDecodeGrainBytes), body);
    }
  };
  step();
  for (auto _ : state) {
    step();
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}

// The bandwidth probe's pattern (accelab sysinfo): each thread sums its half of one 1 GiB array
// with read_sum. Beside the step benchmarks in one process, so a kernel's fraction of it is a
// ratio measured side by side rather than against a probe run minutes apart.
void read_probe(benchmark::State& state, int threads) {
  const int64_t n = (int64_t{1} << 30) / 4;
  const float* data = shared_buffer("probe/1GiB", static_cast<size_t>(n) * 4).floats();
  const KernelTable& k = best_kernels();
  ThreadPoolExecutor pool(threads);
  std::vector<float> sums(static_cast<size_t>(threads));
  auto body = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const auto [b, e] = chunk_bounds(n / 16, threads, t);  // whole cache lines
      sums[static_cast<size_t>(t)] += k.read_sum(data + b * 16, (e - b) * 16);
    }
  };
  for (auto _ : state) {
    pool.parallel_chunks(threads, threads, body);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * n * 4);
}

}  // namespace

void register_decode_step_benchmarks() {
  const int hw = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  for (int which = -1; which < 4; ++which) {
    // decode_step/layers/...: whole layers; decode_step/2048x5632/...: that product of each layer.
    const std::string what = which < 0 ? "layers" : shape_name(kLayer[which]);
    for (int threads = 1; threads <= hw; threads *= 2) {
      if (which < 0)
        benchmark::RegisterBenchmark(("decode_step/probe/threads:" + std::to_string(threads)).c_str(),
                                     [threads](benchmark::State& s) { read_probe(s, threads); })
            ->UseRealTime();
      const std::string suffix = "/" + what + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(("decode_step/read" + suffix).c_str(),
                                   [which, threads](benchmark::State& s) { f32_step(s, which, threads, true); })
          ->UseRealTime();
      benchmark::RegisterBenchmark(("decode_step/f32" + suffix).c_str(),
                                   [which, threads](benchmark::State& s) { f32_step(s, which, threads, false); })
          ->UseRealTime();
      // Each quantized format's kernel, then its panels read without arithmetic (q8read: the
      // step's structure kept; q8read-unjoined: one join per step).
      for (const auto& [name, format] : {std::pair{"q8", QuantFormat::q8}, std::pair{"q4", QuantFormat::q4}}) {
        const std::pair<const char*, QuantPass> passes[] = {
            {"", QuantPass::multiply}, {"read", QuantPass::read}, {"read-unjoined", QuantPass::read_unjoined}};
        for (const auto& [pass_name, pass] : passes)
          benchmark::RegisterBenchmark(("decode_step/" + std::string(name) + pass_name + suffix).c_str(),
                                       [f = format, which, threads, p = pass](benchmark::State& s) { quant_step(s, {f}, which, threads, 1, p); })
              ->UseRealTime();
      }
      // The asymmetric format, and both 4-bit formats with two-level scales (u8).
      for (const auto& [name, kind] : {std::pair{"q4_asym", QuantKind{QuantFormat::q4_asym}}, std::pair{"q4_asym_u8", QuantKind{QuantFormat::q4_asym, true}},
                                       std::pair{"q4_u8", QuantKind{QuantFormat::q4, true}}})
        benchmark::RegisterBenchmark(("decode_step/" + std::string(name) + suffix).c_str(),
                                     [k = kind, which, threads](benchmark::State& s) { quant_step(s, k, which, threads, 1); })
            ->UseRealTime();
      benchmark::RegisterBenchmark(("prefill_step/q8" + suffix + "/rows:128").c_str(),
                                   [which, threads](benchmark::State& s) { quant_step(s, {QuantFormat::q8}, which, threads, 128); })
          ->UseRealTime();
    }
  }
}

}  // namespace accelab::cpu::bench
