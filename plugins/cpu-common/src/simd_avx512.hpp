// Vector primitives for the AVX-512 variant (F/BW/VL/DQ): 16 floats, masked tails.
#pragma once

#include "avx512_intrinsics.hpp"

#include "weight_types.hpp"

namespace accelab::cpu {
namespace {

struct Simd {
  using F = __m512;
  static constexpr int kW = 16;
  // Tuning, measured on the project machine (README.md):
  static constexpr int kAccRegs = 24;  // accumulators of the small-batch GEMM (32 registers)
  static constexpr int kMR = 14;        // blocked GEMM micro-tile: kMR rows x kNV vectors
  static constexpr int kNV = 2;
  static constexpr int64_t kChunkedRows = 24;  // up to here passes of <= 8 rows beat blocking
  static constexpr bool kEigenGemm = false;  // blocked GEMM by Eigen (own micro-kernel: 5-20% faster than Eigen here)

  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }

  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float a) { return _mm512_set1_ps(a); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static F load(const f16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static F load(const bf16_t* p) {
    const __m512i u = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
  }
  // n < kW elements; the other lanes are zero and nothing past p + n is touched.
  static F load_part(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static F load_part(const f16_t* p, int n) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask(n), p));
  }
  static F load_part(const bf16_t* p, int n) {
    const __m512i u = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask(n), p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
  }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static void store_part(float* p, F v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }

  static float scalar(const float* p) { return *p; }
  static float scalar(const f16_t* p) { return _cvtsh_ss(static_cast<uint16_t>(*p)); }
  static float scalar(const bf16_t* p) {
    return _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(static_cast<int>(*p) << 16)));
  }

  // Pins v to a register: GCC would otherwise fold a load that feeds several FMAs into each of
  // them as a memory operand, multiplying the loads.
  static F in_register(F v) {
    asm("" : "+v"(v));
    return v;
  }

  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static float hsum(F v) { return _mm512_reduce_add_ps(v); }
  static float hmax(F v) { return _mm512_reduce_max_ps(v); }

  // exp with Cephes' range reduction and polynomial (about 1 ulp); scalef gives exact
  // overflow to inf and gradual underflow through the subnormals.
  static F exp(F x) {
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x));
    const F n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    F r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    F p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
  }

  // r[i][c] -> r[c][i] for a 16 x 16 block, in four rounds of 16 shuffles.
  static void transpose(F (&r)[kW]) {
    F t[kW];
    for (int i = 0; i < 16; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    // r[4i + j], 128-bit lane L: column 4L + j of rows 4i..4i+3.
    for (int i = 0; i < 16; i += 4) {
      const __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
      const __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
      r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
      r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
      r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
      r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int j = 0; j < 4; ++j) {
      t[j] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x44);
      t[4 + j] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xEE);
      t[8 + j] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x44);
      t[12 + j] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xEE);
    }
    for (int j = 0; j < 4; ++j) {
      r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
      r[4 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xDD);
      r[8 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0x88);
      r[12 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0xDD);
    }
  }

  // Rotates the pairs (v[2i], v[2i+1]) by the angles with (cos, sin) = (cs[2i], cs[2i+1]).
  static F rope(F v, F cs) {
    const F c = _mm512_moveldup_ps(cs);
    const F s = _mm512_movehdup_ps(cs);
    const F swapped = _mm512_permute_ps(v, 0xB1);
    return _mm512_fmaddsub_ps(v, c, _mm512_mul_ps(swapped, s));
  }
};

}  // namespace
}  // namespace accelab::cpu
