// Vector primitives for the AVX2 + FMA + F16C variant: 8 floats, tails through small buffers.
#pragma once

#include <immintrin.h>

#include <cstring>

#include "weight_types.hpp"

namespace accelab::cpu {
namespace {

struct Simd {
  using F = __m256;
  static constexpr int kW = 8;
  // Tuning, measured on the project machine (README.md):
  static constexpr int kAccRegs = 12;  // accumulators of the small-batch GEMM (16 registers)
  static constexpr int kMR = 6;        // blocked GEMM micro-tile: kMR rows x kNV vectors
  static constexpr int kNV = 2;
  static constexpr int64_t kChunkedRows = 16;  // up to here passes of <= 8 rows beat blocking
  static constexpr bool kEigenGemm = false;  // blocked GEMM by Eigen (own micro-kernel: ~13% faster here)

  // Lane i is all ones when i < n.
  static __m256i mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static F halves_to_f32(__m128i h) { return _mm256_cvtph_ps(h); }
  static F bf16_to_f32(__m128i b) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(b), 16));
  }
  template <typename T>
  static __m128i load_part_bits(const T* p, int n) {
    alignas(16) uint16_t buf[8] = {};
    std::memcpy(buf, p, static_cast<size_t>(n) * sizeof(T));
    return _mm_load_si128(reinterpret_cast<const __m128i*>(buf));
  }

  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float a) { return _mm256_set1_ps(a); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static F load(const f16_t* p) {
    return halves_to_f32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static F load(const bf16_t* p) {
    return bf16_to_f32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  // n < kW elements; the other lanes are zero and nothing past p + n is touched.
  static F load_part(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static F load_part(const f16_t* p, int n) { return halves_to_f32(load_part_bits(p, n)); }
  static F load_part(const bf16_t* p, int n) { return bf16_to_f32(load_part_bits(p, n)); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static void store_part(float* p, F v, int n) { _mm256_maskstore_ps(p, mask(n), v); }

  static float scalar(const float* p) { return *p; }
  static float scalar(const f16_t* p) { return _cvtsh_ss(static_cast<uint16_t>(*p)); }
  static float scalar(const bf16_t* p) {
    return _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(static_cast<int>(*p) << 16)));
  }

  // Pins v to a register: GCC would otherwise fold a load that feeds several FMAs into each of
  // them as a memory operand, multiplying the loads.
  static F in_register(F v) {
    asm("" : "+x"(v));
    return v;
  }

  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static float hsum(F v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float hmax(F v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }

  // 2^n for integral n in [-252, 254], as two factors so that subnormal results and overflow
  // to inf come out right.
  static F scale_pow2(F p, F n) {
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1);
    const __m256i n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const F f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const F f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, f1), f2);
  }

  // exp with Cephes' range reduction and polynomial (about 1 ulp).
  static F exp(F x) {
    x = _mm256_min_ps(_mm256_set1_ps(89.0f), _mm256_max_ps(_mm256_set1_ps(-104.0f), x));
    const F n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    F r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    F p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    return scale_pow2(p, n);
  }

  // r[i][c] -> r[c][i] for an 8 x 8 block.
  static void transpose(F (&r)[kW]) {
    F t[kW];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    // r[4i + j], 128-bit lane L: column 4L + j of rows 4i..4i+3.
    for (int i = 0; i < 8; i += 4) {
      r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
      r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
      r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int j = 0; j < 4; ++j) {
      t[j] = _mm256_permute2f128_ps(r[j], r[4 + j], 0x20);
      t[4 + j] = _mm256_permute2f128_ps(r[j], r[4 + j], 0x31);
    }
    for (int i = 0; i < 8; ++i) r[i] = t[i];
  }

  // Rotates the pairs (v[2i], v[2i+1]) by the angles with (cos, sin) = (cs[2i], cs[2i+1]).
  static F rope(F v, F cs) {
    const F c = _mm256_moveldup_ps(cs);
    const F s = _mm256_movehdup_ps(cs);
    const F swapped = _mm256_permute_ps(v, 0xB1);
    return _mm256_fmaddsub_ps(v, c, _mm256_mul_ps(swapped, s));
  }
};

}  // namespace
}  // namespace accelab::cpu
