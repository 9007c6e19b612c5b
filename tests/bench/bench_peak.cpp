// The FMA peak of this core, measured the same way as the kernels (the machine's sustained
// figure moves with clock and neighbours, so GEMM FLOP/s are best read next to it).
#include "bench_common.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace accelab::cpu::bench {
namespace {

#if defined(__x86_64__)
constexpr int64_t kSteps = 1 << 20;

// Independent chains, enough to cover FMA latency on two ports; no memory traffic. (Written
// out per ISA: target attributes do not reach into templates or lambdas.)
__attribute__((target("avx512f"))) float peak_avx512(float seed) {
  constexpr int kChains = 24;
  const __m512 b = _mm512_set1_ps(seed), c = _mm512_set1_ps(1e-3f);
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  for (int64_t s = 0; s < kSteps; ++s) {
#pragma GCC unroll 32
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], b, c);
  }
  for (int i = 1; i < kChains; ++i) acc[0] = _mm512_add_ps(acc[0], acc[i]);
  return _mm512_cvtss_f32(acc[0]);
}

__attribute__((target("avx2,fma"))) float peak_avx2(float seed) {
  constexpr int kChains = 12;
  const __m256 b = _mm256_set1_ps(seed), c = _mm256_set1_ps(1e-3f);
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  for (int64_t s = 0; s < kSteps; ++s) {
#pragma GCC unroll 32
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], b, c);
  }
  for (int i = 1; i < kChains; ++i) acc[0] = _mm256_add_ps(acc[0], acc[i]);
  return _mm256_cvtss_f32(acc[0]);
}

void peak(benchmark::State& state, float (*fn)(float), double flops_per_step) {
  float seed = 0.999f;
  for (auto _ : state) {
    benchmark::DoNotOptimize(seed);  // or the call is hoisted out of the loop
    benchmark::DoNotOptimize(fn(seed));
  }
  state.counters["FLOP/s"] = benchmark::Counter(flops_per_step * kSteps,
                                                benchmark::Counter::kIsIterationInvariantRate);
}
#endif

}  // namespace

void register_peak_benchmarks() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    benchmark::RegisterBenchmark("fma_peak/avx512", [](benchmark::State& s) { peak(s, &peak_avx512, 24 * 32); });
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    benchmark::RegisterBenchmark("fma_peak/avx2", [](benchmark::State& s) { peak(s, &peak_avx2, 12 * 16); });
#endif
}

}  // namespace accelab::cpu::bench
