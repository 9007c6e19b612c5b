// Blocked GEMM for many rows through Eigen. The including translation unit must have renamed
// Eigen's namespace (#define Eigen accelab_eigen_<isa>) before this header: every variant
// instantiates the same templates with different instruction sets, and with one shared name the
// linker would keep a single variant's code for all of them.
#pragma once

#ifndef EIGEN_DONT_PARALLELIZE
#define EIGEN_DONT_PARALLELIZE  // threads are the backends' job
#endif
#include <Eigen/Core>

#include <cstdint>

#include "scratch.hpp"

namespace accelab::cpu {
namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMajor, Eigen::Unaligned, Eigen::OuterStride<>>;
using MutMap = Eigen::Map<RowMajor, Eigen::Unaligned, Eigen::OuterStride<>>;

// Y[:, o_begin:o_end] = X W[o_begin:o_end]^T; f16/bf16 weights go through an f32 panel of rows
// small enough to stay in L2.
template <typename T>
void gemm_eigen(const T* w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows,
                int64_t in, int64_t o_begin, int64_t o_end) {
  const ConstMap X(x, rows, in, Eigen::OuterStride<>(ldx));
  if constexpr (sizeof(T) == sizeof(float)) {
    const ConstMap W(w + o_begin * in, o_end - o_begin, in, Eigen::OuterStride<>(in));
    MutMap Y(y + o_begin, rows, o_end - o_begin, Eigen::OuterStride<>(ldy));
    Y.noalias() = X * W.transpose();
  } else {
    constexpr int64_t kPanelFloats = int64_t{1} << 18;  // 1 MiB
    const int64_t step = in > 0 && kPanelFloats / in > 16 ? kPanelFloats / in : 16;
    float* panel = scratch(0, static_cast<size_t>(step * in));
    for (int64_t o = o_begin; o < o_end; o += step) {
      const int64_t n = o_end - o < step ? o_end - o : step;
      for (int64_t r = 0; r < n; ++r) {
        const T* src = w + (o + r) * in;
        float* dst = panel + r * in;
        int64_t i = 0;
        for (; i + kW <= in; i += kW) Simd::store(dst + i, Simd::load(src + i));
        if (i < in) Simd::store_part(dst + i, Simd::load_part(src + i, tail(in, i)), tail(in, i));
      }
      const ConstMap P(panel, n, in, Eigen::OuterStride<>(in));
      MutMap Y(y + o, rows, n, Eigen::OuterStride<>(ldy));
      Y.noalias() = X * P.transpose();
    }
  }
}

}  // namespace
}  // namespace accelab::cpu
