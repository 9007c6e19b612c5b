// Blocked GEMM for many rows (prefill): Y = X W^T with both operands packed into k-major panels
// (BLIS layout) by in-register transposes, and a register-blocked kMR x (kNV * kW) outer-product
// micro-kernel. Weights are converted to f32 while packing, so f16/bf16 weights cost one
// conversion per element per call.
#pragma once

#include <array>
#include <cstdint>
#include <utility>

#include "scratch.hpp"

namespace accelab::cpu {
namespace {

constexpr int kMR = Simd::kMR;
constexpr int kNR = Simd::kNV * kW;
constexpr int64_t kKC = 256;                 // depth of a panel
constexpr int64_t kMC = kMR * 8;             // rows of X packed at once (kMC x kKC: L2)
constexpr int64_t kNC = kNR * (1024 / kNR);  // weight rows packed at once (kKC x kNC: L2)
static_assert(kMR <= kW);

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// dst[k * stride + j] = src_j[k] for j < width <= kW, k < kc; the `rows` (<= width) sources
// given, zeros for the rest.
template <typename T>
void pack_transposed(const T* const* src, int rows, int width, int64_t kc, float* dst,
                     int64_t stride) {
  for (int64_t k0 = 0; k0 < kc; k0 += kW) {
    const int n = static_cast<int>(min64(kW, kc - k0));
    F v[kW];
    for (int j = 0; j < kW; ++j)
      v[j] = j >= rows ? Simd::zero() : n == kW ? Simd::load(src[j] + k0) : Simd::load_part(src[j] + k0, n);
    Simd::transpose(v);
    for (int k = 0; k < n; ++k) {
      float* p = dst + (k0 + k) * stride;
      if (width == kW) {
        Simd::store(p, v[k]);
      } else {
        Simd::store_part(p, v[k], width);
      }
    }
  }
}

// bp[p][k][j] = w[(col + p * kNR + j) * in + depth + k], zero past `cols`.
template <typename T>
void pack_weights(const T* w, int64_t in, int64_t col, int64_t cols, int64_t depth, int64_t kc,
                  float* bp) {
  for (int64_t jp = 0; jp < cols; jp += kNR, bp += kc * kNR) {
    for (int h = 0; h < Simd::kNV; ++h) {
      const T* src[kW];
      const int64_t first = jp + h * kW;
      const int rows = static_cast<int>(first >= cols ? 0 : min64(kW, cols - first));
      for (int j = 0; j < rows; ++j) src[j] = w + (col + first + j) * in + depth;
      pack_transposed(src, rows, kW, kc, bp + h * kW, kNR);
    }
  }
}

// Splits `rows` into the fewest panels of at most kMR rows, as even as possible (16 rows: 8 + 8,
// not 14 + 2, whose 2-row micro-kernel would run far below peak).
struct Panels {
  int64_t count, base, extra;
  explicit Panels(int64_t rows)
      : count((rows + kMR - 1) / kMR), base(rows / count), extra(rows % count) {}
  int64_t first_row(int64_t p) const { return p * base + (p < extra ? p : extra); }
  int rows(int64_t p) const { return static_cast<int>(base + (p < extra ? 1 : 0)); }
};

// ap[p][k][i] = x[(row + panels.first_row(p) + i) * ldx + depth + k], zero past the panel's rows.
void pack_inputs(const float* x, int64_t ldx, int64_t row, const Panels& panels, int64_t depth,
                 int64_t kc, float* ap) {
  for (int64_t p = 0; p < panels.count; ++p, ap += kc * kMR) {
    const float* src[kW];
    const int n = panels.rows(p);
    for (int i = 0; i < n; ++i) src[i] = x + (row + panels.first_row(p) + i) * ldx + depth;
    pack_transposed(src, n, kMR, kc, ap, kMR);
  }
}

// C[i, j] (+)= sum_k ap[k][i] * bp[k][j] for i < MR, j < nr; MR < kMR serves the last rows.
template <int MR>
void micro_kernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc,
                  bool accumulate, int nr) {
  F acc[MR][Simd::kNV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < Simd::kNV; ++v) acc[i][v] = Simd::zero();
  for (int64_t k = 0; k < kc; ++k, ap += kMR, bp += kNR) {
    F b[Simd::kNV];
#pragma GCC unroll 4
    for (int v = 0; v < Simd::kNV; ++v) b[v] = Simd::load(bp + v * kW);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const F a = Simd::set1(ap[i]);
#pragma GCC unroll 4
      for (int v = 0; v < Simd::kNV; ++v) acc[i][v] = Simd::fma(a, b[v], acc[i][v]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < Simd::kNV && v * kW < nr; ++v) {
      float* p = c + i * ldc + v * kW;
      const int n = nr - v * kW;
      if (n >= kW) {
        Simd::store(p, accumulate ? Simd::add(Simd::load(p), acc[i][v]) : acc[i][v]);
      } else {
        Simd::store_part(p, accumulate ? Simd::add(Simd::load_part(p, n), acc[i][v]) : acc[i][v], n);
      }
    }
}

using MicroKernel = void (*)(int64_t, const float*, const float*, float*, int64_t, bool, int);

template <int... MR>
constexpr auto micro_kernels(std::integer_sequence<int, MR...>) {
  return std::array<MicroKernel, sizeof...(MR)>{&micro_kernel<MR + 1>...};
}

// micro_kernel<mr> for mr in [1, kMR].
constexpr auto kMicroKernels = micro_kernels(std::make_integer_sequence<int, kMR>{});

template <typename T>
void gemm_packed(const T* w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows,
                 int64_t in, int64_t o_begin, int64_t o_end) {
  float* bp = scratch(0, kKC * kNC);
  float* ap = scratch(1, kKC * kMC);
  for (int64_t jc = o_begin; jc < o_end; jc += kNC) {
    const int64_t nc = min64(kNC, o_end - jc);
    for (int64_t pc = 0; pc < in; pc += kKC) {
      const int64_t kc = min64(kKC, in - pc);
      pack_weights(w, in, jc, nc, pc, kc, bp);
      for (int64_t ic = 0; ic < rows; ic += kMC) {
        const Panels panels(min64(kMC, rows - ic));
        pack_inputs(x, ldx, ic, panels, pc, kc, ap);
        for (int64_t jr = 0; jr < nc; jr += kNR)
          for (int64_t p = 0; p < panels.count; ++p)
            kMicroKernels[panels.rows(p) - 1](kc, ap + p * kc * kMR, bp + jr * kc,
                                              y + (ic + panels.first_row(p)) * ldy + jc + jr, ldy,
                                              pc > 0, static_cast<int>(min64(kNR, nc - jr)));
      }
    }
  }
}

}  // namespace
}  // namespace accelab::cpu
