// gemv (bytes/s of weights) and gemm (FLOP/s) at TinyLlama's shapes, plus gemv over 1 GiB of
// weights: the DRAM-bound decode case, to compare with read_sum/1GiB.
#include <vector>

#include "bench_common.hpp"

namespace accelab::cpu::bench {
namespace {

struct Type {
  WeightType type;
  const char* name;
  size_t size;
};
constexpr Type kTypes[] = {{WeightType::f32, "f32", 4}, {WeightType::f16, "f16", 2},
                           {WeightType::bf16, "bf16", 2}};

struct Shape {
  int64_t out, in;
};
// TinyLlama 1.1B: q/o projections, gate/up, down, and the classifier; and 1 MiB of f32 that
// stays in L2 between calls.
constexpr Shape kShapes[] = {{2048, 2048}, {5632, 2048}, {2048, 5632}, {32000, 2048}, {256, 1024}};

std::string shape_name(Shape s) { return std::to_string(s.out) + "x" + std::to_string(s.in); }

const void* weights(Type t, Shape s) {
  return shared_buffer(std::string("w/") + t.name + "/" + shape_name(s),
                       static_cast<size_t>(s.out * s.in) * t.size)
      .data();
}

const float* inputs(int64_t n) {
  return shared_buffer("x/" + std::to_string(n), static_cast<size_t>(n) * 4).floats();
}

void gemv(benchmark::State& state, const KernelTable& k, Type t, Shape s) {
  const void* w = weights(t, s);
  const float* x = inputs(s.in);
  std::vector<float> y(static_cast<size_t>(s.out));
  k.gemv(t.type, w, x, y.data(), s.in, 0, s.out);  // touch the pages
  for (auto _ : state) {
    k.gemv(t.type, w, x, y.data(), s.in, 0, s.out);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * s.out * s.in * static_cast<int64_t>(t.size));
}

void gemm(benchmark::State& state, const KernelTable& k, Type t, Shape s, int64_t rows) {
  const void* w = weights(t, s);
  const float* x = inputs(rows * s.in);
  std::vector<float> y(static_cast<size_t>(rows * s.out));
  k.gemm(t.type, w, x, s.in, y.data(), s.out, rows, s.in, 0, s.out);
  for (auto _ : state) {
    k.gemm(t.type, w, x, s.in, y.data(), s.out, rows, s.in, 0, s.out);
    benchmark::ClobberMemory();
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * double(rows) * double(s.in) * double(s.out),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

void register_matrix_benchmarks() {
  for (Type t : kTypes)
    for (Shape s : kShapes)
      register_per_isa(std::string("gemv/") + t.name + "/" + shape_name(s),
                       [t, s](benchmark::State& st, const KernelTable& k) { gemv(st, k, t, s); });

  // 1 GiB of weights: far beyond the last-level cache, like a decode step of a 4.4 GB model.
  for (Type t : kTypes) {
    const Shape s{int64_t{1 << 30} / (2048 * static_cast<int64_t>(t.size)), 2048};
    register_per_isa(std::string("gemv_dram/") + t.name + "/1GiB",
                     [t, s](benchmark::State& st, const KernelTable& k) { gemv(st, k, t, s); });
  }

  for (Type t : kTypes)
    for (int64_t rows : {1, 4, 8, 9, 16, 24, 32, 33, 48, 64, 512}) {
      if (t.type != WeightType::f32 && rows != 8 && rows != 512) continue;
      const Shape s{2048, 2048};
      register_per_isa(std::string("gemm/") + t.name + "/rows:" + std::to_string(rows) + "/" +
                           shape_name(s),
                       [t, s, rows](benchmark::State& st, const KernelTable& k) {
                         gemm(st, k, t, s, rows);
                       });
    }
  // A 128-token prefill through the small models' products: stories260K's (64-wide rows, and
  // FFN-down's 172) and stories15M's FFN (288): the shapes the quantized prefill is compared at.
  for (Shape s : {Shape{172, 64}, Shape{64, 172}, Shape{768, 288}})
    register_per_isa(std::string("gemm/f32/rows:128/") + shape_name(s),
                     [s](benchmark::State& st, const KernelTable& k) { gemm(st, k, kTypes[0], s, 128); });
}

}  // namespace accelab::cpu::bench
