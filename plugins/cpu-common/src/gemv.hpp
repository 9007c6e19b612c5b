// Matrix-vector kernels that stream each weight row exactly once: GEMV, and the small-batch GEMM
// that dots every weight row with all `rows` inputs while it is in registers.
//
// Decode reads the weights from DRAM, and one core reaches full bandwidth only with several
// long sequential streams plus software prefetch (measured on the project machine: one stream
// ~13 GB/s, eight ~20 GB/s; eight adjacent rows ~85-94% of that, eight far-apart streams with
// prefetch ~97%). So rows are taken in groups of G from G equal parts of the output range, and
// each row prefetches kPrefetchBytes ahead, which runs on into the next row of its part.
#pragma once

#include <cstdint>

#include "far_groups.hpp"

namespace accelab::cpu {
namespace {

// Y[r, o[g]] = x_r . w_row(o[g]) for r < R, g < G: R x G accumulators, each weight vector
// loaded once and used R times (R = 1: GEMV, ldx and ldy unused).
template <int R, int G, typename T>
void dot_rows(const T* w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t in,
              const int64_t (&o)[G]) {
  constexpr int64_t kLine = 64 / sizeof(T);  // weights per cache line: one prefetch each
  const T* rows[G];
  for (int g = 0; g < G; ++g) rows[g] = w + o[g] * in;
  F acc[R][G];
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < G; ++g) acc[r][g] = Simd::zero();
  // Keeps the smaller of the R input vectors and the G weight vectors in registers while the
  // other side streams through one register: R * G + min(R, G) + 1 registers in all.
  auto step = [&](int64_t i, auto load_w, auto load_x) {
    if constexpr (R <= G) {
      F xv[R];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) xv[r] = load_x(x + r * ldx + i);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        F wv = load_w(rows[g] + i);
        if constexpr (R > 1) wv = Simd::in_register(wv);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) acc[r][g] = Simd::fma(xv[r], wv, acc[r][g]);
      }
    } else {
      F wv[G];
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) wv[g] = load_w(rows[g] + i);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        F xv = load_x(x + r * ldx + i);
        if constexpr (G > 1) xv = Simd::in_register(xv);
#pragma GCC unroll 8
        for (int g = 0; g < G; ++g) acc[r][g] = Simd::fma(xv, wv[g], acc[r][g]);
      }
    }
  };
  auto load_w = [](const T* p) { return Simd::load(p); };
  auto load_x = [](const float* p) { return Simd::load(p); };
  int64_t i = 0;
  for (; i + kW <= in; i += kW) {
    if (i % kLine == 0)
      for (int g = 0; g < G; ++g) __builtin_prefetch(rows[g] + i + kPrefetchBytes / sizeof(T));
    step(i, load_w, load_x);
  }
  if (i < in) {
    const int m = tail(in, i);
    step(i, [m](const T* p) { return Simd::load_part(p, m); },
         [m](const float* p) { return Simd::load_part(p, m); });
  }
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < G; ++g) y[r * ldy + o[g]] = Simd::hsum(acc[r][g]);
}

template <int R, typename T>
void gemm_small_t(const T* w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t in,
                  int64_t o_begin, int64_t o_end) {
  // Eight rows (streams) for GEMV; with more inputs, as many as the accumulators allow.
  constexpr int G = R == 1 ? 8 : Simd::kAccRegs / R < 1 ? 1 : Simd::kAccRegs / R > 8 ? 8 : Simd::kAccRegs / R;
  far_groups<G>(
      o_begin, o_end, [&](const int64_t(&o)[G]) { dot_rows<R, G>(w, x, ldx, y, ldy, in, o); },
      [&](int64_t o) {
        const int64_t one[1] = {o};
        dot_rows<R, 1>(w, x, ldx, y, ldy, in, one);
      });
}

// rows in [1, kSmallRows].
constexpr int64_t kSmallRows = 8;

template <typename T>
void gemm_small(const T* w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows,
                int64_t in, int64_t o_begin, int64_t o_end) {
  switch (rows) {
    case 1: return gemm_small_t<1>(w, x, ldx, y, ldy, in, o_begin, o_end);
    case 2: return gemm_small_t<2>(w, x, ldx, y, ldy, in, o_begin, o_end);
    case 3: return gemm_small_t<3>(w, x, ldx, y, ldy, in, o_begin, o_end);
    case 4: return gemm_small_t<4>(w, x, ldx, y, ldy, in, o_begin, o_end);
    case 5: return gemm_small_t<5>(w, x, ldx, y, ldy, in, o_begin, o_end);
    case 6: return gemm_small_t<6>(w, x, ldx, y, ldy, in, o_begin, o_end);
    case 7: return gemm_small_t<7>(w, x, ldx, y, ldy, in, o_begin, o_end);
    default: return gemm_small_t<8>(w, x, ldx, y, ldy, in, o_begin, o_end);
  }
}

}  // namespace
}  // namespace accelab::cpu
