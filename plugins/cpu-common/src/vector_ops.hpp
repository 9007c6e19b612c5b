// The element-wise and reduction kernels, written once against the variant's Simd primitives.
// Included by each variant translation unit after its simd_*.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace accelab::cpu {
namespace {

using F = Simd::F;
constexpr int kW = Simd::kW;

inline int tail(int64_t n, int64_t i) { return static_cast<int>(n - i); }

float dot(const float* a, const float* b, int64_t n) {
  F s0 = Simd::zero(), s1 = Simd::zero(), s2 = Simd::zero(), s3 = Simd::zero();
  int64_t i = 0;
  for (; i + 4 * kW <= n; i += 4 * kW) {
    s0 = Simd::fma(Simd::load(a + i), Simd::load(b + i), s0);
    s1 = Simd::fma(Simd::load(a + i + kW), Simd::load(b + i + kW), s1);
    s2 = Simd::fma(Simd::load(a + i + 2 * kW), Simd::load(b + i + 2 * kW), s2);
    s3 = Simd::fma(Simd::load(a + i + 3 * kW), Simd::load(b + i + 3 * kW), s3);
  }
  for (; i + kW <= n; i += kW) s0 = Simd::fma(Simd::load(a + i), Simd::load(b + i), s0);
  if (i < n) s1 = Simd::fma(Simd::load_part(a + i, tail(n, i)), Simd::load_part(b + i, tail(n, i)), s1);
  return Simd::hsum(Simd::add(Simd::add(s0, s1), Simd::add(s2, s3)));
}

void axpy(float a, const float* x, float* y, int64_t n) {
  const F va = Simd::set1(a);
  int64_t i = 0;
  for (; i + 2 * kW <= n; i += 2 * kW) {
    Simd::store(y + i, Simd::fma(va, Simd::load(x + i), Simd::load(y + i)));
    Simd::store(y + i + kW, Simd::fma(va, Simd::load(x + i + kW), Simd::load(y + i + kW)));
  }
  for (; i + kW <= n; i += kW) Simd::store(y + i, Simd::fma(va, Simd::load(x + i), Simd::load(y + i)));
  if (i < n) {
    const int m = tail(n, i);
    Simd::store_part(y + i, Simd::fma(va, Simd::load_part(x + i, m), Simd::load_part(y + i, m)), m);
  }
}

// f(x) for each element of `in` (vectors of kW, then the tail) stored to `out`.
template <typename Op>
void map1(float* out, const float* in, int64_t n, Op op) {
  int64_t i = 0;
  for (; i + kW <= n; i += kW) Simd::store(out + i, op(Simd::load(in + i)));
  if (i < n) Simd::store_part(out + i, op(Simd::load_part(in + i, tail(n, i))), tail(n, i));
}

template <typename Op>
void map2(float* out, const float* a, const float* b, int64_t n, Op op) {
  int64_t i = 0;
  for (; i + kW <= n; i += kW) Simd::store(out + i, op(Simd::load(a + i), Simd::load(b + i)));
  if (i < n) {
    const int m = tail(n, i);
    Simd::store_part(out + i, op(Simd::load_part(a + i, m), Simd::load_part(b + i, m)), m);
  }
}

void rmsnorm(float* out, const float* x, const float* w, int64_t n, float eps) {
  const float ss = dot(x, x, n);
  const F scale = Simd::set1(1.0f / std::sqrt(ss / static_cast<float>(n) + eps));
  map2(out, x, w, n, [scale](F xv, F wv) { return Simd::mul(wv, Simd::mul(scale, xv)); });
}

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  F m = Simd::set1(x[0]);
  int64_t i = 0;
  for (; i + kW <= n; i += kW) m = Simd::max(m, Simd::load(x + i));
  float max_val = Simd::hmax(m);
  for (; i < n; ++i) max_val = x[i] > max_val ? x[i] : max_val;

  const F vmax = Simd::set1(max_val);
  F s0 = Simd::zero(), s1 = Simd::zero();
  i = 0;
  for (; i + 2 * kW <= n; i += 2 * kW) {
    const F e0 = Simd::exp(Simd::sub(Simd::load(x + i), vmax));
    const F e1 = Simd::exp(Simd::sub(Simd::load(x + i + kW), vmax));
    Simd::store(x + i, e0);
    Simd::store(x + i + kW, e1);
    s0 = Simd::add(s0, e0);
    s1 = Simd::add(s1, e1);
  }
  for (; i + kW <= n; i += kW) {
    const F e = Simd::exp(Simd::sub(Simd::load(x + i), vmax));
    Simd::store(x + i, e);
    s0 = Simd::add(s0, e);
  }
  if (i < n) {
    const int m = tail(n, i);
    // The zero lanes of the partial load would add exp(-max) each: mask them out of the sum by
    // storing first and reloading.
    Simd::store_part(x + i, Simd::exp(Simd::sub(Simd::load_part(x + i, m), vmax)), m);
    s1 = Simd::add(s1, Simd::load_part(x + i, m));
  }
  const F inv = Simd::set1(1.0f / Simd::hsum(Simd::add(s0, s1)));
  map1(x, x, n, [inv](F v) { return Simd::mul(v, inv); });
}

void swiglu(float* out, const float* gate, const float* up, int64_t n) {
  const F one = Simd::set1(1.0f);
  map2(out, gate, up, n, [one](F g, F u) {
    const F e = Simd::exp(Simd::sub(Simd::zero(), g));
    return Simd::div(Simd::mul(g, u), Simd::add(one, e));
  });
}

void add(float* out, const float* a, const float* b, int64_t n) {
  map2(out, a, b, n, [](F x, F y) { return Simd::add(x, y); });
}

void rope(float* v, int64_t width, int64_t head_size, int64_t rope_dim, const float* cos_sin) {
  // Pairs (2i, 2i+1) with 2i < rope_dim: an odd rope_dim rotates its last pair whole.
  int64_t dim = (rope_dim + 1) & ~int64_t{1};
  if (dim > head_size) dim = head_size & ~int64_t{1};
  for (int64_t h = 0; h + head_size <= width; h += head_size) {
    float* p = v + h;
    int64_t i = 0;
    for (; i + kW <= dim; i += kW) Simd::store(p + i, Simd::rope(Simd::load(p + i), Simd::load(cos_sin + i)));
    if (i < dim) {
      const int m = tail(dim, i);
      Simd::store_part(p + i, Simd::rope(Simd::load_part(p + i, m), Simd::load_part(cos_sin + i, m)), m);
    }
  }
}

// Reads eight far-apart parts of x at once: one sequential stream gets about two thirds of the
// DRAM bandwidth that a single core can draw with several.
float read_sum(const float* x, int64_t n) {
  constexpr int kStreams = 8;
  const int64_t part = n / kStreams / kW * kW;
  F s[kStreams];
  for (F& v : s) v = Simd::zero();
  for (int64_t i = 0; i < part; i += kW) {
#pragma GCC unroll 8
    for (int p = 0; p < kStreams; ++p) s[p] = Simd::add(s[p], Simd::load(x + p * part + i));
  }
  int64_t i = kStreams * part;
  for (; i + kW <= n; i += kW) s[0] = Simd::add(s[0], Simd::load(x + i));
  if (i < n) s[1] = Simd::add(s[1], Simd::load_part(x + i, tail(n, i)));
  for (int p = 1; p < kStreams; ++p) s[0] = Simd::add(s[0], s[p]);
  return Simd::hsum(s[0]);
}

// fn(std::integral_constant<int, n>{}) for 1 <= n <= kMax.
template <int kMax, class Fn>
void with_row_count(int64_t n, Fn&& fn) {
  if constexpr (kMax > 1) {
    if (n < kMax) return with_row_count<kMax - 1>(n, fn);
  }
  fn(std::integral_constant<int, kMax>{});
}

// Independent multiply-add chains a loop of R x C sums keeps in flight: enough for two FMA pipes
// of 4 cycles' latency (8) where R x C falls short, by splitting the loop over t into U partial
// sums, within the ISA's accumulator registers.
template <int R, int C>
constexpr int kChainSplit = [] {
  int u = R * C >= 8 ? 1 : R * C >= 4 ? 2 : 4;
  while (u > 1 && u * R * C > Simd::kAccRegs) u /= 2;
  return u;
}();

// Columns [j, j + C * kW) of Y's rows x[0..R) (the last vector `m` lanes wide) accumulate while
// W's rows stream by once, in U partial sums over t.
template <int R, int C>
[[gnu::always_inline]] inline void gemm_nn_block(const float* const (&x)[R], const float* w, int64_t ldw,
                                                 float* y, int64_t ldy, int64_t inner, int64_t j, int m) {
  constexpr int U = kChainSplit<R, C>;
  F acc[U][R][C];
  for (auto& part : acc)
    for (auto& row : part)
      for (F& a : row) a = Simd::zero();
  auto step = [&](int u, int64_t t) {
    const float* wt = w + t * ldw + j;
    F v[C];
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) v[c] = c + 1 < C || m == kW ? Simd::load(wt + c * kW) : Simd::load_part(wt + c * kW, m);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const F a = Simd::set1(x[r][t]);
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) acc[u][r][c] = Simd::fma(a, v[c], acc[u][r][c]);
    }
  };
  int64_t t = 0;
  for (; t + U <= inner; t += U)
#pragma GCC unroll 4
    for (int u = 0; u < U; ++u) step(u, t + u);
  for (; t < inner; ++t) step(0, t);
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      F sum = acc[0][r][c];
      for (int u = 1; u < U; ++u) sum = Simd::add(sum, acc[u][r][c]);
      float* yr = y + r * ldy + j + c * kW;
      if (c + 1 < C || m == kW) Simd::store(yr, sum);
      else Simd::store_part(yr, sum, m);
    }
}

// Y = X W, few rows of X, in even passes of up to 8 rows: per block of C column vectors (C = 4 /
// R for R < 4 rows, else 2 or 1) the pass's rows accumulate in registers while W's rows stream
// by once. A single row (one query head per KV head, as in stories15M) would otherwise be one
// chain of multiply-adds per vector: the blocks of 4 vectors and the partial sums of
// kChainSplit keep 8 in flight (bench_kernels attention/1head64).
void gemm_nn(const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy,
             int64_t rows, int64_t inner, int64_t cols) {
  constexpr int kRows = 8;
  const int64_t passes = (rows + kRows - 1) / kRows;
  for (int64_t p = 0, r0 = 0; p < passes; ++p) {
    const int64_t n = (rows - r0) / (passes - p);
    with_row_count<kRows>(n, [&](auto count) {
      constexpr int R = decltype(count)::value;
      constexpr int C = R <= 2 ? 4 : R <= 4 ? 2 : 1;
      const float* xr[R];
      for (int r = 0; r < R; ++r) xr[r] = x + (r0 + r) * ldx;
      float* yr = y + r0 * ldy;
      int64_t j = 0;
      for (; j + C * kW < cols; j += C * kW) gemm_nn_block<R, C>(xr, w, ldw, yr, ldy, inner, j, kW);
      // The last 1 .. C vectors, the last of them m lanes wide (m = kW when whole).
      const int64_t left = (cols - j + kW - 1) / kW;
      const int m = left > 0 ? tail(cols, j + (left - 1) * kW) : 0;
      if (left == 1) gemm_nn_block<R, 1>(xr, w, ldw, yr, ldy, inner, j, m);
      if constexpr (C >= 2) {
        if (left == 2) gemm_nn_block<R, 2>(xr, w, ldw, yr, ldy, inner, j, m);
      }
      if constexpr (C >= 4) {
        if (left == 3) gemm_nn_block<R, 3>(xr, w, ldw, yr, ldy, inner, j, m);
        if (left == 4) gemm_nn_block<R, 4>(xr, w, ldw, yr, ldy, inner, j, m);
      }
    });
    r0 += n;
  }
}

// Scores of R query rows against the T tiles of keys from tile b on: the R rows accumulate
// kKeyTile positions of each tile in kV vectors while the tiles' elements stream by, one
// broadcast multiply-add per element and vector, no horizontal sums. Prefetches as key_scores
// says when `next` is set.
template <int R, int T>
[[gnu::always_inline]] inline void key_tiles(const float* q, int64_t ldq, const float* keys, int64_t head_size,
                                             int64_t positions, float* s, int64_t lds, int64_t b, int64_t tiles,
                                             const char* next, int64_t next_bytes) {
  constexpr int kV = static_cast<int>(kKeyTile / kW);
  const int64_t tile_floats = head_size * kKeyTile;
  const float* tile = keys + b * tile_floats;
  F acc[T][R][kV];
  for (auto& part : acc)
    for (auto& row : part)
      for (F& a : row) a = Simd::zero();
  for (int64_t d = 0; d < head_size; ++d) {
    if (next != nullptr) {  // this pass reads the keys from memory: ask for what comes next
#pragma GCC unroll 8
      for (int k = 0; k < T; ++k) {
        if (b + T + k < tiles) __builtin_prefetch(tile + (T + k) * tile_floats + d * kKeyTile);
        const int64_t line = ((b + k) * head_size + d) * 64;
        if (line < next_bytes) __builtin_prefetch(next + line);
      }
    }
    F kv[T][kV];
#pragma GCC unroll 8
    for (int k = 0; k < T; ++k)
#pragma GCC unroll 4
      for (int v = 0; v < kV; ++v) kv[k][v] = Simd::load(tile + k * tile_floats + d * kKeyTile + v * kW);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const F a = Simd::set1(q[r * ldq + d]);
#pragma GCC unroll 8
      for (int k = 0; k < T; ++k)
#pragma GCC unroll 4
        for (int v = 0; v < kV; ++v) acc[k][r][v] = Simd::fma(a, kv[k][v], acc[k][r][v]);
    }
  }
  for (int k = 0; k < T; ++k)
    for (int v = 0; v < kV; ++v) {
      const int64_t t = (b + k) * kKeyTile + v * kW;
      if (t >= positions) break;
      const int m = positions - t >= kW ? static_cast<int>(kW) : tail(positions, t);
      for (int r = 0; r < R; ++r) {
        if (m == kW) Simd::store(s + r * lds + t, acc[k][r][v]);
        else Simd::store_part(s + r * lds + t, acc[k][r][v], m);
      }
    }
}

// Tiles [b, tiles) for R query rows, T tiles at a time while T are left, then T / 2, ...: with
// fewer sums per tile (R x kV) than the 8 chains two FMA pipes of 4 cycles' latency need, several
// tiles share a pass. One query head per KV head (stories15M) was one chain of head_size
// multiply-adds per tile.
template <int R, int T = std::max(1, 8 / (R * static_cast<int>(kKeyTile / kW)))>
void key_scores_rows(const float* q, int64_t ldq, const float* keys, int64_t head_size, int64_t positions,
                     float* s, int64_t lds, int64_t b, const float* next, int64_t next_bytes) {
  const int64_t tiles = (positions + kKeyTile - 1) / kKeyTile;
  const char* ahead = reinterpret_cast<const char*>(next);
  for (; b + T <= tiles; b += T) key_tiles<R, T>(q, ldq, keys, head_size, positions, s, lds, b, tiles, ahead, next_bytes);
  if constexpr (T > 1) key_scores_rows<R, T / 2>(q, ldq, keys, head_size, positions, s, lds, b, next, next_bytes);
}

// In even passes of at most kR rows (8 query heads on AVX2: 4 + 4, not 6 + 2), the first of
// which prefetches. Against the former layout ([position][element], scores as a small GEMM ending
// in a horizontal sum per score), TinyLlama's decode attention of 8 query heads per KV head
// (bench_kernels attention/8heads64, AVX-512) took 4.0 us instead of 6.1 at 256 positions and
// 31 instead of 48 at 2048.
void key_scores(const float* q, int64_t ldq, int64_t rows, const float* keys, int64_t head_size,
                int64_t positions, float* s, int64_t lds, const float* next, int64_t next_bytes) {
  static_assert(kKeyTile % kW == 0);
  constexpr int kR = std::min(8, Simd::kAccRegs / static_cast<int>(kKeyTile / kW));  // rows per pass
  const int64_t passes = (rows + kR - 1) / kR;
  for (int64_t p = 0, r = 0; p < passes; ++p) {
    const int64_t n = (rows - r) / (passes - p);
    with_row_count<kR>(n, [&](auto count) {
      key_scores_rows<decltype(count)::value>(q + r * ldq, ldq, keys, head_size, positions, s + r * lds, lds, 0,
                                              p == 0 ? next : nullptr, next_bytes);
    });
    r += n;
  }
}

}  // namespace
}  // namespace accelab::cpu
