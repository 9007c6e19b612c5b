// Everything a variant translation unit compiles: the kernels, written once against the Simd
// primitives of the simd_*.hpp header it included first, and the KernelTable entry points.
// All of it has internal linkage, so each variant keeps its own instruction set's code.
#pragma once

#include <cstdint>

#include "accelab_cpu/kernels.hpp"
#include "vector_ops.hpp"
#include "gemv.hpp"
#include "gemm_packed.hpp"
#include "gemm_eigen.hpp"

namespace accelab::cpu {
namespace {

template <typename T>
void gemm_t(const T* w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows,
            int64_t in, int64_t o_begin, int64_t o_end) {
  if (rows <= 0 || o_begin >= o_end) return;
  if (in <= 0) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = o_begin; o < o_end; ++o) y[r * ldy + o] = 0.0f;
  } else if (rows <= kSmallRows) {
    gemm_small(w, x, ldx, y, ldy, rows, in, o_begin, o_end);
  } else if (rows <= Simd::kChunkedRows) {
    // Packing the weights costs about one read of them, as much as a streaming pass, and cannot
    // overlap with the little compute that few rows need: a few small passes win.
    const int64_t chunks = (rows + kSmallRows - 1) / kSmallRows;
    for (int64_t c = 0, r = 0; c < chunks; ++c) {
      const int64_t n = (rows - r) / (chunks - c);
      gemm_small(w, x + r * ldx, ldx, y + r * ldy, ldy, n, in, o_begin, o_end);
      r += n;
    }
  } else if constexpr (Simd::kEigenGemm) {
    gemm_eigen(w, x, ldx, y, ldy, rows, in, o_begin, o_end);
  } else {
    gemm_packed(w, x, ldx, y, ldy, rows, in, o_begin, o_end);
  }
}

void gemm(WeightType type, const void* w, const float* x, int64_t ldx, float* y, int64_t ldy,
          int64_t rows, int64_t in, int64_t o_begin, int64_t o_end) {
  switch (type) {
    case WeightType::f32:
      return gemm_t(static_cast<const float*>(w), x, ldx, y, ldy, rows, in, o_begin, o_end);
    case WeightType::f16:
      return gemm_t(static_cast<const f16_t*>(w), x, ldx, y, ldy, rows, in, o_begin, o_end);
    case WeightType::bf16:
      return gemm_t(static_cast<const bf16_t*>(w), x, ldx, y, ldy, rows, in, o_begin, o_end);
  }
}

void gemv(WeightType type, const void* w, const float* x, float* y, int64_t in, int64_t o_begin,
          int64_t o_end) {
  gemm(type, w, x, in, y, 0, 1, in, o_begin, o_end);
}

constexpr KernelTable make_table(const char* isa) {
  return KernelTable{isa, &gemv, &gemm, &dot, &axpy, &rmsnorm, &softmax, &rope, &swiglu, &add, &read_sum, &gemm_nn, &key_scores};
}

}  // namespace
}  // namespace accelab::cpu
