// The avx2 quantized kernels, for two variants (compile flags in CMakeLists.txt): `avx2`
// (quant_avx2.cpp) with vpmaddubsw + vpmaddwd, and `avx2-vnni` (quant_avx2_vnni.cpp) with
// AVX-VNNI's 256-bit vpdpbusd, for CPUs that have it without AVX-512 (Intel's since Alder Lake).
// The including file defines ACCELAB_QUANT_AVX2_VNNI as 0 or 1. Internal linkage: each variant
// gets its own copy, compiled with its own flags.
//
// vpmaddubsw multiplies unsigned by signed bytes and saturates pairs to int16, so q8 codes go
// through the sign trick (|w| times x with w's sign: 2 * 128 * 127 fits), and the biased
// 4-bit nibbles (at most 15) multiply the activations directly. vpdpbusd sums in int32, so with
// VNNI every format multiplies its stored (biased) codes as they are and the bias comes off
// once, as on avx512-vnni. An octet is 8 groups, half a chunk of the lane layout
// (quant_layout.hpp): lane L of every product is one group, so the octet's 8 products add up
// into its 8 group sums with no folding.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "quant_layout.hpp"

#ifndef ACCELAB_QUANT_AVX2_VNNI
#error "define ACCELAB_QUANT_AVX2_VNNI (0 or 1) before including quant_avx2.hpp"
#endif

namespace accelab::cpu {
namespace {

constexpr int64_t kOctet = 8;  // groups per step
constexpr bool kVnni = ACCELAB_QUANT_AVX2_VNNI != 0;

void quantize(const QuantMatrix& w, const float* x, int64_t ldx, int64_t rows,
              QuantActivations& out) {
  begin_quantize(w, rows, out);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    int8_t* q = out.q_.data() + r * out.groups_ * kGroup;
    for (int64_t g = 0; g < real_groups(out.cols_); ++g) {
      const int64_t n = out.cols_ - g * kGroup;
      alignas(32) float buffer[kGroup] = {};
      const float* src = xr + g * kGroup;
      if (n < kGroup) {
        std::memcpy(buffer, src, static_cast<size_t>(n) * sizeof(float));
        src = buffer;
      }
      __m256 v[4];
      __m256 amax = _mm256_setzero_ps();
      for (int i = 0; i < 4; ++i) {
        v[i] = _mm256_loadu_ps(src + 8 * i);
        amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[i]));
      }
      __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
      m = _mm_max_ps(m, _mm_movehl_ps(m, m));
      m = _mm_max_ss(m, _mm_movehdup_ps(m));
      const float d = _mm_cvtss_f32(m) / 127.0f;
      const __m256 id = _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
      __m256i c[4];
      for (int i = 0; i < 4; ++i) c[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], id));
      const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(c[0], c[1]), _mm256_packs_epi32(c[2], c[3]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + g * kGroup), _mm256_permutevar8x32_epi32(bytes, order));
      const __m256i s = _mm256_add_epi32(_mm256_add_epi32(c[0], c[1]), _mm256_add_epi32(c[2], c[3]));
      __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
      t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4E));
      t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1));
      out.d_[static_cast<size_t>(r * out.groups_ + g)] = d;
      out.sum_[static_cast<size_t>(r * out.groups_ + g)] = _mm_cvtsi128_si32(t);
    }
    zero_padding_groups(out, r);
  }
  transpose_all_activations(out);
}

// The 8 int32 partial sums of one group: unsigned u times signed x, byte by byte.
inline __m256i dot_group(__m256i u, __m256i x) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1));
}

// Per-group values (scales or mins) of one row for the 8 groups of an octet: f16, or two-level
// codes times the row's factor (QuantSource).
struct OctetBlocks {
  int64_t first, count;
  __m256i lane;
  bool per_group;  // blocks of one group (32 weights): lane is the identity
  bool two_level;

  OctetBlocks(const QuantMatrix& w, int64_t k) {
    const int32_t* gb = w.group_block_.data() + k * kOctet;
    first = gb[0];
    count = w.blocks_per_row_ - first;
    lane = _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb)), _mm256_set1_epi32(gb[0]));
    per_group = w.groups_per_block_ == 1;
    two_level = w.two_level_;
  }
  __m256 expand(const uint16_t* row) const {
    __m128i h;
    if (count >= kOctet) {
      h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + first));
    } else {
      uint16_t buffer[kOctet] = {};
      std::memcpy(buffer, row + first, static_cast<size_t>(count) * sizeof(uint16_t));
      h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(buffer));
    }
    const __m256 v = _mm256_cvtph_ps(h);
    return per_group ? v : _mm256_permutevar8x32_ps(v, lane);
  }
  template <bool kSigned>
  __m256 expand_codes(const void* row, float factor) const {
    const uint8_t* at = static_cast<const uint8_t*>(row) + first;
    __m128i b;
    if (count >= kOctet) {
      b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(at));
    } else {
      uint8_t bytes[16] = {};
      std::memcpy(bytes, at, static_cast<size_t>(count));
      b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes));
    }
    const __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(kSigned ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b)),
                                   _mm256_set1_ps(factor));
    return per_group ? v : _mm256_permutevar8x32_ps(v, lane);
  }
  __m256 scales(const QuantMatrix& w, int64_t o) const {
    return two_level ? expand_codes<false>(w.row_scale_codes(o), w.scale_factors_[static_cast<size_t>(o)])
                     : expand(w.row_scales(o));
  }
  __m256 mins(const QuantMatrix& w, int64_t o) const {
    return two_level ? expand_codes<true>(w.row_min_codes(o), w.min_factors_[static_cast<size_t>(o)])
                     : expand(w.row_mins(o));
  }
};

// Line 0 of octet k of row o (half k % 2 of chunk k / 2), and the bytes from one of its lines to
// the next. kBytes: the chunk's line, 64 bytes in a whole chunk (the octet reads 32 of them); in
// the row's short chunk (lines of 16, 32 or 48 bytes: quant_layout.hpp) what the octet holds of
// it, 32 or, for the short chunk's last 4 groups, 16.
template <QuantFormat F, int kBytes>
const uint8_t* octet_start(const QuantMatrix& w, int64_t o, int64_t k) {
  if constexpr (kBytes == 64) return chunk_at<F>(w.row(o), k / 2) + 32 * (k % 2);
  return w.tail(o) + 32 * (k % 2);
}
template <int kBytes>
int64_t octet_line_stride(const QuantMatrix& w) {
  if constexpr (kBytes == 64) return QuantMatrix::kLineStride;
  return w.tail_line_stride();
}

// The 8 group sums (biased, but for q8 without VNNI) of an octet in each of G rows, row g's
// line 0 at lines[g] (octet_start), `stride` bytes from one line to the next, with x the chunk's
// activation codes in the weights' lane order (quant_layout.hpp) and `half` the octet's half of
// them: lane L of every product is group 8 (k % 2) + L, so nothing needs folding. The rows go
// line by line in turn, so each activation vector is loaded once for all of them.
template <QuantFormat F, int kBytes, int G>
[[gnu::always_inline]] inline void octet_group_sums(const uint8_t* const (&lines)[G], int64_t stride, int64_t half,
                                                    const int8_t* x, __m256i (&out)[G]) {
  auto codes = [&](int g, int64_t line) {
    const uint8_t* p = lines[g] + line * stride;
    if constexpr (kBytes == 16) return _mm256_zextsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  };
  auto load = [](const void* q) { return _mm256_loadu_si256(static_cast<const __m256i*>(q)); };
  if constexpr (F == QuantFormat::q8) {
    // Without VNNI: stored code + 128 back to signed, then the sign trick: |w| times sign(x, w)
    // (the bias would overflow vpmaddubsw's int16 pairs). A padding group's zeros become -128
    // here, times x = 0.
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) out[g] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      const __m256i xv = load(x + 64 * j + half);
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        if constexpr (kVnni) {
          out[g] = _mm256_dpbusd_avx_epi32(out[g], codes(g, j), xv);
        } else {
          const __m256i v = _mm256_xor_si256(codes(g, j), flip);
          out[g] = _mm256_add_epi32(out[g], dot_group(_mm256_abs_epi8(v), _mm256_sign_epi8(xv, v)));
        }
      }
    }
  } else {
    // With VNNI int32 sums, a line's high nibbles in sums of their own (so its two products do
    // not wait for each other); without, one chain of int16 pairs, which 4-bit products fit
    // (2 * 15 * 127 each, 8 of them), widened once.
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m256i sums[G], odd[G];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) sums[g] = odd[g] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      const __m256i xlo = load(x + 128 * i + half), xhi = load(x + 128 * i + 64 + half);
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        const __m256i v = codes(g, i);
        const __m256i lo = _mm256_and_si256(v, low), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
        if constexpr (kVnni) {
          sums[g] = _mm256_dpbusd_avx_epi32(sums[g], lo, xlo);
          odd[g] = _mm256_dpbusd_avx_epi32(odd[g], hi, xhi);
        } else {
          sums[g] = _mm256_add_epi16(sums[g], _mm256_maddubs_epi16(lo, xlo));
          sums[g] = _mm256_add_epi16(sums[g], _mm256_maddubs_epi16(hi, xhi));
        }
      }
    }
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
      out[g] = kVnni ? _mm256_add_epi32(sums[g], odd[g]) : _mm256_madd_epi16(sums[g], _mm256_set1_epi16(1));
  }
}

// xq: the activation codes of `a` in the weights' lane order (a.qt_).
template <QuantFormat F, int R, int G>
void decode_rows(const QuantMatrix& w, const QuantActivations& a, const int8_t* xq, int64_t r0,
                 float* y, int64_t ldy, const int64_t (&o)[G]) {
  constexpr bool kAsym = F == QuantFormat::q4_asym;
  // The bias times the codes' sum, as a shift: q4's weight_bias is 8, q4_asym's 0, q8's 128 (with
  // VNNI; the sign trick needs none).
  constexpr int kBiasShift = F == QuantFormat::q4 ? 3 : F == QuantFormat::q8 && kVnni ? 7 : 0;
  static_assert(weight_bias(QuantFormat::q4) == 1 << 3 && weight_bias(QuantFormat::q4_asym) == 0 &&
                weight_bias(QuantFormat::q8) == 1 << 7);
  const int64_t octets = ceil_div(w.groups_, kOctet);
  const int64_t ahead = line_prefetch_distance<G>(w);
  __m256 acc[R][G];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) acc[r][g] = _mm256_setzero_ps();
  auto octet = [&](auto octet_bytes, int64_t k) {
    constexpr int kBytes = decltype(octet_bytes)::value;
    const OctetBlocks blocks(w, k);
    const int64_t stride = octet_line_stride<kBytes>(w);
    const uint8_t* lines[G];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      lines[g] = octet_start<F, kBytes>(w, o[g], k);
      // An octet reads half of each line of its chunk: the chunk's lines are prefetched once.
      if (k % 2 == 0)
        for (int64_t line = 0; line < kChunkLines<F>; ++line)
          _mm_prefetch(reinterpret_cast<const char*>(lines[g] + line * stride + ahead), _MM_HINT_T0);
    }
    // Each row's scales (and mins): with several activation rows expanded once for all of them;
    // with one, where they are used (held across the octet they spilled the sums: q8 ran 20% slower).
    constexpr bool kHold = R > 1;
    __m256 held_sw[G], held_mw[G];
    if constexpr (kHold)
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        held_sw[g] = blocks.scales(w, o[g]);
        if constexpr (kAsym) held_mw[g] = blocks.mins(w, o[g]);
      }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const int64_t at = (r0 + r) * a.groups_ + k * kOctet;
      const int8_t* x = xq + (at - (k % 2) * kOctet) * kGroup;  // the chunk's (halves interleaved)
      const __m256i sums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.sum_.data() + at));
      const __m256 dx = _mm256_loadu_ps(a.d_.data() + at);
      const __m256i bias = _mm256_slli_epi32(sums, kBiasShift);
      __m256 dsum = _mm256_setzero_ps();
      if constexpr (kAsym) dsum = _mm256_mul_ps(dx, _mm256_cvtepi32_ps(sums));
      __m256i isum[G];
      octet_group_sums<F, kBytes, G>(lines, stride, 32 * (k % 2), x, isum);
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        if constexpr (kBiasShift > 0) isum[g] = _mm256_sub_epi32(isum[g], bias);
        const __m256 sw = kHold ? held_sw[g] : blocks.scales(w, o[g]);
        acc[r][g] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[g]), _mm256_mul_ps(sw, dx), acc[r][g]);
        if constexpr (kAsym)
          acc[r][g] = _mm256_fmadd_ps(kHold ? held_mw[g] : blocks.mins(w, o[g]), dsum, acc[r][g]);
      }
    }
  };
  // A short chunk's octets: 32 bytes of each line, then the 16 of a 48-byte line (or the 16 of a
  // 16-byte one).
  const int64_t whole = 2 * w.full_chunks_;
  for (int64_t k = 0; k < whole; ++k) octet(std::integral_constant<int, 64>{}, k);
  for (int64_t k = whole; k < octets; ++k) {
    if (w.tail_line_bytes_ - 32 * (k - whole) >= 32) octet(std::integral_constant<int, 32>{}, k);
    else octet(std::integral_constant<int, 16>{}, k);
  }
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < G; ++g) {
      const __m256 v = acc[r][g];
      __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
      s = _mm_add_ps(s, _mm_movehl_ps(s, s));
      s = _mm_add_ss(s, _mm_movehdup_ps(s));
      y[r * ldy + o[g]] = _mm_cvtss_f32(s);
    }
}

template <QuantFormat F, int R>
void decode_pass(const QuantMatrix& w, const QuantActivations& a, const int8_t* xq, int64_t r0,
                 float* y, int64_t ldy, int64_t o_begin, int64_t o_end) {
  constexpr int G = R == 1 ? 4 : 2;
  row_groups<G>(
      o_begin, o_end,
      [&](int64_t o0) {
        int64_t o[G];
        for (int g = 0; g < G; ++g) o[g] = o0 + g;
        decode_rows<F, R, G>(w, a, xq, r0, y, ldy, o);
      },
      [&](int64_t o) {
        const int64_t one[1] = {o};
        decode_rows<F, R, 1>(w, a, xq, r0, y, ldy, one);
      });
}

// All rows of `a`, each weight row of [o_begin, o_end) read once per pass of up to 4 rows.
void gemm(const QuantMatrix& w, const QuantActivations& a, float* y, int64_t ldy, int64_t o_begin,
          int64_t o_end) {
  if (o_begin >= o_end) return;
  const int8_t* xq = a.qt_.data();
  with_format(w, [&](auto format) {
    in_row_passes(a.rows_, [&](auto rows, int64_t r) {
      decode_pass<format.value, rows.value>(w, a, xq, r, y + r * ldy, ldy, o_begin, o_end);
    });
  });
}

}  // namespace
}  // namespace accelab::cpu
