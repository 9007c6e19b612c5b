// Quantized kernels per variant: decode GEMV at TinyLlama's shapes (bytes/s of codes, scales and
// mins read), prefill GEMM (FLOP/s, 2 per multiply-add) and activation quantization.
#include <map>
#include <random>
#include <string>
#include <vector>

#include "accelab_cpu/quant.hpp"
#include "bench_common.hpp"

namespace accelab::cpu::bench {
namespace {

struct Shape {
  int64_t out, in;
};

std::string shape_name(Shape s) { return std::to_string(s.out) + "x" + std::to_string(s.in); }

const char* format_name(QuantFormat f) {
  return f == QuantFormat::q8 ? "q8" : f == QuantFormat::q4 ? "q4" : "q4_asym";
}

/// Random codes, f16 scales of 0.01 (and mins of -0.08) in blocks of 32, made once and kept for the whole run.
struct Weights {
  std::vector<uint8_t> codes;
  std::vector<uint16_t> scales, mins;
  QuantMatrix matrix;
};

const QuantMatrix& weights(QuantFormat f, Shape s) {
  static std::map<std::string, std::unique_ptr<Weights>> all;
  auto& w = all[std::string(format_name(f)) + "/" + shape_name(s)];
  if (w) return w->matrix;
  w = std::make_unique<Weights>();
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> byte(f == QuantFormat::q8 ? -127 : 0, f == QuantFormat::q8 ? 127 : 255);
  w->codes.resize(static_cast<size_t>(s.out * (f == QuantFormat::q8 ? s.in : (s.in + 1) / 2)));
  for (uint8_t& c : w->codes) c = static_cast<uint8_t>(byte(rng));
  w->scales.assign(static_cast<size_t>(s.out * ((s.in + 31) / 32)), f32_to_f16(0.01f));
  if (f == QuantFormat::q4_asym) w->mins.assign(w->scales.size(), f32_to_f16(-0.08f));
  w->matrix = QuantMatrix::from({f, w->codes.data(), w->scales.data(),
                                 f == QuantFormat::q4_asym ? w->mins.data() : nullptr, s.out, s.in, 32});
  return w->matrix;
}

// The scalar reference variant is left out of the prefill products: seconds per call.
void register_per_quant_isa(const std::string& name,
                            const std::function<void(benchmark::State&, const QuantKernels&)>& fn,
                            bool with_generic = true) {
  for (const std::string& isa : available_quant_isas()) {
    if (!with_generic && isa == "generic") continue;
    const QuantKernels* k = quant_kernels_for(isa);
    benchmark::RegisterBenchmark((name + "/" + isa).c_str(), [fn, k](benchmark::State& s) { fn(s, *k); });
  }
}

void product(benchmark::State& state, const QuantKernels& k, QuantFormat f, Shape s, int64_t rows) {
  const QuantMatrix& w = weights(f, s);
  const float* x = shared_buffer("x/" + std::to_string(rows * s.in), static_cast<size_t>(rows * s.in) * 4).floats();
  QuantActivations a;
  a.reserve(rows, s.in);
  k.quantize(w, x, s.in, rows, a);
  std::vector<float> y(static_cast<size_t>(rows * s.out));
  k.gemm(w, a, y.data(), s.out, 0, s.out);  // touch the pages
  for (auto _ : state) {
    k.gemm(w, a, y.data(), s.out, 0, s.out);
    benchmark::ClobberMemory();
  }
  if (rows == 1) {
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.stream_bytes()));
  } else {
    state.counters["FLOP/s"] = benchmark::Counter(2.0 * double(rows) * double(s.in) * double(s.out),
                                                  benchmark::Counter::kIsIterationInvariantRate);
  }
}

void quantize(benchmark::State& state, const QuantKernels& k, int64_t rows, int64_t in) {
  const QuantMatrix& w = weights(QuantFormat::q8, {32, in});
  const float* x = shared_buffer("x/" + std::to_string(rows * in), static_cast<size_t>(rows * in) * 4).floats();
  QuantActivations a;
  a.reserve(rows, in);
  for (auto _ : state) {
    k.quantize(w, x, in, rows, a);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * rows * in);
}

}  // namespace

void register_quant_benchmarks() {
  for (QuantFormat f : {QuantFormat::q8, QuantFormat::q4}) {
    // TinyLlama's, then stories15M's FFN (rows of 288 codes, 9 groups: all in the short last
    // chunk) and stories110M's (768 codes: a whole chunk and a short one of 8 groups); last,
    // TinyLlama-wide rows that fit the L2 (0.3 MB of q4, 0.55 MB of q8): the kernel's rate
    // without DRAM (bounded by the L2 and the arithmetic together), far above what a thread
    // streams from DRAM.
    for (Shape s : {Shape{2048, 5632}, Shape{5632, 2048}, Shape{768, 288}, Shape{2048, 768}, Shape{256, 2048}})
      register_per_quant_isa(std::string("quant_gemv/") + format_name(f) + "/" + shape_name(s),
                             [f, s](benchmark::State& st, const QuantKernels& k) { product(st, k, f, s, 1); });
    for (int64_t rows : {128, 512}) {
      const Shape s{2048, 2048};
      register_per_quant_isa(std::string("quant_gemm/") + format_name(f) + "/rows:" + std::to_string(rows) + "/" + shape_name(s),
                             [f, s, rows](benchmark::State& st, const QuantKernels& k) { product(st, k, f, s, rows); },
                             false);
    }
    // The small models' products in a 128-token prefill (bench_matrix's gemm/f32/rows:128 at the
    // same shapes).
    for (Shape s : {Shape{172, 64}, Shape{64, 172}, Shape{768, 288}})
      register_per_quant_isa(std::string("quant_gemm/") + format_name(f) + "/rows:128/" + shape_name(s),
                             [f, s](benchmark::State& st, const QuantKernels& k) { product(st, k, f, s, 128); },
                             false);
  }
  for (Shape s : {Shape{2048, 5632}, Shape{5632, 2048}})
    register_per_quant_isa(std::string("quant_gemv/q4_asym/") + shape_name(s),
                           [s](benchmark::State& st, const QuantKernels& k) { product(st, k, QuantFormat::q4_asym, s, 1); });
  // A prefill's input, and a decode step's (the rows a product of each width quantizes first).
  for (Shape s : {Shape{512, 2048}, Shape{128, 64}, Shape{1, 2048}, Shape{1, 5632}})
    register_per_quant_isa(std::string("quant_quantize/") + shape_name(s),
                           [s](benchmark::State& st, const QuantKernels& k) { quantize(st, k, s.out, s.in); });
}

}  // namespace accelab::cpu::bench
