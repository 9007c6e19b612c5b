// The vector kernels at TinyLlama's sizes: one attention head over the KV cache (dot, softmax,
// axpy), the query heads of one KV head at once (key_scores, softmax, gemm_nn; 8 as in TinyLlama, 1
// as in stories15M), rmsnorm, softmax, swiglu, rope, add, and read_sum's bandwidth from L2 to DRAM.
#include <cmath>
#include <vector>

#include "bench_common.hpp"

namespace accelab::cpu::bench {
namespace {

float* scratch(const std::string& key, int64_t n) {
  return shared_buffer(key, static_cast<size_t>(n) * 4).floats();
}

// Scores of one query against T cached keys, softmax, and the weighted sum of T values, with
// TinyLlama's layout (head size 64, KV row of 4 heads).
void attention(benchmark::State& state, const KernelTable& k, int64_t positions) {
  constexpr int64_t kHead = 64, kKvRow = 256;
  const float* keys = scratch("kv/k", positions * kKvRow);
  const float* values = scratch("kv/v", positions * kKvRow);
  const float* q = scratch("q", kHead);
  std::vector<float> scores(static_cast<size_t>(positions)), out(kHead);
  for (auto _ : state) {
    for (int64_t t = 0; t < positions; ++t) scores[t] = k.dot(q, keys + t * kKvRow, kHead) * 0.125f;
    k.softmax(scores.data(), positions);
    std::fill(out.begin(), out.end(), 0.0f);
    for (int64_t t = 0; t < positions; ++t) k.axpy(scores[t], values + t * kKvRow, out.data(), kHead);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * positions * kHead * 2 * 4);
  state.SetItemsProcessed(state.iterations() * positions);
}

// The query heads that share one KV head, at once, as the backends' decode does it: scores by
// key_scores against the cached keys (in tiles of kKeyTile positions, the KV cache's layout), the
// outputs by gemm_nn over the cached values. Items are head-positions, as above. 8 heads of 64:
// TinyLlama; one head of 48 or 64: stories15M and stories110M, whose every query head has its
// own KV head.
void attention_grouped(benchmark::State& state, const KernelTable& k, int64_t positions, int64_t heads,
                       int64_t head) {
  const float* keys = scratch("kv/k", positions * head);
  const float* values = scratch("kv/v", positions * head);
  const float* q = scratch("q8", heads * head);
  std::vector<float> scores(static_cast<size_t>(heads * positions)), out(heads * head);
  for (auto _ : state) {
    k.key_scores(q, head, heads, keys, head, positions, scores.data(), positions, values, positions * head * 4);
    for (int64_t h = 0; h < heads; ++h) {
      float* s = scores.data() + h * positions;
      for (int64_t t = 0; t < positions; ++t) s[t] *= 0.125f;
      k.softmax(s, positions);
    }
    k.gemm_nn(scores.data(), positions, values, head, out.data(), head, heads, positions, head);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * positions * head * 2 * 4);
  state.SetItemsProcessed(state.iterations() * positions * heads);
}

template <typename Body>
void elementwise(benchmark::State& state, int64_t n, Body body) {
  for (auto _ : state) {
    body();
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void read_sum(benchmark::State& state, const KernelTable& k, int64_t bytes) {
  const float* x = scratch("read/" + std::to_string(bytes), bytes / 4);
  benchmark::DoNotOptimize(k.read_sum(x, bytes / 4));
  for (auto _ : state) benchmark::DoNotOptimize(k.read_sum(x, bytes / 4));
  state.SetBytesProcessed(state.iterations() * bytes);
}

}  // namespace

void register_vector_benchmarks() {
  for (int64_t t : {256, 2048}) {
    register_per_isa("attention/head64/T:" + std::to_string(t),
                     [t](benchmark::State& s, const KernelTable& k) { attention(s, k, t); });
    register_per_isa("attention/8heads64/T:" + std::to_string(t),
                     [t](benchmark::State& s, const KernelTable& k) { attention_grouped(s, k, t, 8, 64); });
    register_per_isa("attention/1head64/T:" + std::to_string(t),
                     [t](benchmark::State& s, const KernelTable& k) { attention_grouped(s, k, t, 1, 64); });
  }
  register_per_isa("attention/1head48/T:256",
                   [](benchmark::State& s, const KernelTable& k) { attention_grouped(s, k, 256, 1, 48); });

  register_per_isa("rmsnorm/2048", [](benchmark::State& s, const KernelTable& k) {
    float* x = scratch("a/2048", 2048);
    const float* w = scratch("b/2048", 2048);
    float* out = scratch("out/2048", 2048);
    elementwise(s, 2048, [&] { k.rmsnorm(out, x, w, 2048, 1e-5f); });
  });
  for (int64_t n : {2048, 32000})
    register_per_isa("softmax/" + std::to_string(n), [n](benchmark::State& s, const KernelTable& k) {
      const float* src = scratch("a/" + std::to_string(n), n);
      float* x = scratch("out/" + std::to_string(n), n);
      // Softmax is in place; restarting from the same scores keeps every iteration alike.
      elementwise(s, n, [&] {
        std::copy(src, src + n, x);
        k.softmax(x, n);
      });
    });
  register_per_isa("swiglu/5632", [](benchmark::State& s, const KernelTable& k) {
    const float* g = scratch("a/5632", 5632);
    const float* u = scratch("b/5632", 5632);
    float* out = scratch("out/5632", 5632);
    elementwise(s, 5632, [&] { k.swiglu(out, g, u, 5632); });
  });
  register_per_isa("rope/2048/head64", [](benchmark::State& s, const KernelTable& k) {
    float* v = scratch("out/2048", 2048);
    // Unit (cos, sin) pairs: repeated rotation must keep the values' magnitude.
    float* cs = scratch("cs/64", 64);
    for (int i = 0; i < 64; i += 2) cs[i] = std::cos(0.1f * i), cs[i + 1] = std::sin(0.1f * i);
    elementwise(s, 2048, [&] { k.rope(v, 2048, 64, 64, cs); });
  });
  register_per_isa("add/2048", [](benchmark::State& s, const KernelTable& k) {
    float* a = scratch("out/2048", 2048);
    const float* b = scratch("b/2048", 2048);
    elementwise(s, 2048, [&] { k.add(a, a, b, 2048); });
  });

  for (int64_t mib : {1, 64, 1024})
    register_per_isa("read_sum/" + std::to_string(mib) + "MiB",
                     [mib](benchmark::State& s, const KernelTable& k) { read_sum(s, k, mib << 20); });
}

}  // namespace accelab::cpu::bench
