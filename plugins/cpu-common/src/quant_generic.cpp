// The generic quantized variant: plain scalar code, the reference the SIMD variants are tested
// against (their integer parts must equal these exactly).
#include <cmath>
#include <stdexcept>

#include "quant_layout.hpp"
#include "quant_variants.hpp"

namespace accelab::cpu {
namespace {

void quantize(const QuantMatrix& w, const float* x, int64_t ldx, int64_t rows,
              QuantActivations& out) {
  begin_quantize(w, rows, out);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    int8_t* q = out.q_.data() + r * out.groups_ * kGroup;
    for (int64_t g = 0; g < out.groups_; ++g, q += kGroup) {
      const int64_t first = g * kGroup;
      const int64_t n = first >= out.cols_ ? 0 : out.cols_ - first < kGroup ? out.cols_ - first : kGroup;
      float amax = 0.0f;
      for (int64_t j = 0; j < n; ++j) amax = std::fmax(amax, std::fabs(xr[first + j]));
      const float d = amax / 127.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      int32_t sum = 0;
      for (int64_t j = 0; j < kGroup; ++j) {
        q[j] = j < n ? static_cast<int8_t>(std::nearbyint(xr[first + j] * id)) : int8_t{0};
        sum += q[j];
      }
      out.d_[static_cast<size_t>(r * out.groups_ + g)] = d;
      out.sum_[static_cast<size_t>(r * out.groups_ + g)] = sum;
    }
  }
}

void gemm(const QuantMatrix& w, const QuantActivations& a, float* y, int64_t ldy, int64_t o_begin,
          int64_t o_end) {
  for (int64_t r = 0; r < a.rows_; ++r) {
    const int8_t* x = a.q_.data() + r * a.groups_ * kGroup;
    const float* dx = a.d_.data() + r * a.groups_;
    const int32_t* sx = a.sum_.data() + r * a.groups_;
    for (int64_t o = o_begin; o < o_end; ++o) {
      float acc = 0.0f;
      for (int64_t g = 0; g < w.groups_; ++g) {
        int32_t isum = 0;
        for (int64_t j = g * kGroup; j < (g + 1) * kGroup; ++j)
          isum += weight_code(w, o, j) * x[j];
        const int64_t block = g / w.groups_per_block_;
        acc += w.block_scale(o, block) * dx[g] * static_cast<float>(isum);
        if (w.format_ == QuantFormat::q4_asym) acc += w.block_min(o, block) * dx[g] * static_cast<float>(sx[g]);
      }
      y[r * ldy + o] = acc;
    }
  }
}

}  // namespace

namespace detail {
constinit const QuantKernels generic_quant_kernels{"generic", &quantize, &gemm};
}  // namespace detail

}  // namespace accelab::cpu
