// AVX-512 VNNI quantized kernels: activation quantization and the decode kernel that streams
// each weight row once (shared by the avx512-vnni and avx512-vnni+amx variants).
//
// A chunk is 16 groups of one row (512 bytes of q8, 256 of 4-bit), laid out so that lane L of
// each of its 8 vectors of codes is group L (quant_layout.hpp). vpdpbusd multiplies unsigned by
// signed bytes: weights are stored biased to unsigned, so each chunk's 8 products chain into one
// accumulator that starts at minus the bias times the activation group's code sum (the reason
// activations carry sums). Then one convert, one multiply (weight scales — f16 of the blocks,
// vpermps-expanded to groups for blocks of more than one group — times activation scales) and
// one FMA per 16 groups; q4_asym adds one FMA of mins × d_x · sum_x.
#pragma once

#include "avx512_intrinsics.hpp"

#include <algorithm>
#include <cstdint>

#include "quant_layout.hpp"

namespace accelab::cpu {
namespace {

inline __mmask16 lane_mask(int64_t n) {
  return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

// The codes, scales and sums of `out` (a.qt_ left as it was).
void quantize_codes_avx512(const QuantMatrix& w, const float* x, int64_t ldx, int64_t rows,
                           QuantActivations& out) {
  begin_quantize(w, rows, out);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    int8_t* q = out.q_.data() + r * out.groups_ * kGroup;
    float* d = out.d_.data() + r * out.groups_;
    int32_t* sum = out.sum_.data() + r * out.groups_;
    for (int64_t g = 0; g < real_groups(out.cols_); ++g) {
      const int64_t n = out.cols_ - g * kGroup;
      __m512 v0 = _mm512_setzero_ps(), v1 = _mm512_setzero_ps();
      if (n >= kGroup) {
        v0 = _mm512_loadu_ps(xr + g * kGroup);
        v1 = _mm512_loadu_ps(xr + g * kGroup + 16);
      } else {  // the row's last group, in part
        v0 = _mm512_maskz_loadu_ps(lane_mask(n), xr + g * kGroup);
        v1 = _mm512_maskz_loadu_ps(lane_mask(n - 16), xr + g * kGroup + 16);
      }
      const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
      d[g] = amax / 127.0f;
      const __m512 id = _mm512_set1_ps(d[g] != 0.0f ? 1.0f / d[g] : 0.0f);
      const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, id));
      const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, id));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + g * kGroup), _mm512_cvtsepi32_epi8(q0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + g * kGroup + 16), _mm512_cvtsepi32_epi8(q1));
      sum[g] = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    }
    zero_padding_groups(out, r);
  }
}


// Where a chunk's lines lie: whole chunks' lines are kBytes = 64 bytes, a row's 8 lines
// kLineStride apart; a short chunk's are kBytes = tail_line_bytes_ (16, 32 or 48), 8 * kBytes
// apart (quant_layout.hpp).
template <int kBytes>
constexpr int64_t kChunkLineStride = QuantMatrix::kPanelRows * kBytes;

// A line of kBytes as a vector whose lanes past the line are zero (as a whole chunk's padding
// would be): 16 and 32 bytes zero-extended, 48 a masked load of 12 lanes. !kExact: a 48-byte
// line in a 64-byte load instead, its lanes 12..15 the bytes after it (the next row's line, or
// the 64 bytes of slack after the last panel: repack in quant_matrix.cpp). The decode kernel
// reads lines so: those lanes meet activation groups past the row's end, whose codes, scales and
// sums are zero. With the masked load stories15M's int8 decode (288-wide rows) ran at 2.17-2.33x
// f32, with this one at 2.26-2.64x (plugins/cpu-common/README.md, "Short chunks").
template <int kBytes, bool kExact = true>
__m512i load_line(const uint8_t* line) {
  static_assert(kBytes == 16 || kBytes == 32 || kBytes == 48 || kBytes == 64);
  if constexpr (kBytes == 64 || (kBytes == 48 && !kExact)) return _mm512_loadu_si512(line);
  if constexpr (kBytes == 48 && kExact) return _mm512_maskz_loadu_epi32(0x0FFF, line);
  if constexpr (kBytes == 32) return _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(line)));
  if constexpr (kBytes == 16) return _mm512_zextsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(line)));
}

// Vector i (0..7) of a chunk as unsigned codes, lane L = group L, from the loaded line v that
// holds it (q8: line i; 4-bit: the low (i even) or high nibbles of line i / 2).
template <QuantFormat F>
__m512i nibble_vector(__m512i v, int i) {
  if constexpr (F == QuantFormat::q8) return v;
  else return _mm512_and_si512(i % 2 ? _mm512_srli_epi16(v, 4) : v, _mm512_set1_epi8(0x0F));
}

// nibble_vector of the line at `line`.
template <QuantFormat F, int kBytes = 64, bool kExact = true>
__m512i line_vector(const uint8_t* line, int i) {
  return nibble_vector<F>(load_line<kBytes, kExact>(line), i);
}

// The 48-byte lines of 4 consecutive rows at p (192 bytes, p 64-byte aligned) as 4 vectors,
// from 3 aligned loads: lanes 0..11 each row's line, lanes 12..15 the next row's bytes (which
// meet zero activation groups, as in load_line<48, false>). Three of four 64-byte loads at the
// lines themselves would cross a cache line, which Zen 5 pays twice for.
[[gnu::always_inline]] inline void lines48(const uint8_t* p, __m512i (&v)[4]) {
  const __m512i a = _mm512_load_si512(p), b = _mm512_load_si512(p + 64), c = _mm512_load_si512(p + 128);
  v[0] = a;
  v[1] = _mm512_alignr_epi32(b, a, 12);
  v[2] = _mm512_alignr_epi32(c, b, 8);
  v[3] = _mm512_alignr_epi32(c, c, 4);
}

// The line of a chunk (line 0 at p) that holds vector i.
template <QuantFormat F, int kBytes = 64>
const uint8_t* vector_line(const uint8_t* p, int i) {
  return p + kChunkLineStride<kBytes> * (F == QuantFormat::q8 ? i : i / 2);
}

// Calls f(std::integral_constant<int, tail_line_bytes_>) for a matrix whose rows end in a short
// chunk, so each width gets its own compiled loop.
template <typename Fn>
void with_tail_width(const QuantMatrix& w, Fn f) {
  switch (w.tail_line_bytes_) {
    case 16: f(std::integral_constant<int, 16>{}); break;
    case 32: f(std::integral_constant<int, 32>{}); break;
    case 48: f(std::integral_constant<int, 48>{}); break;
    default: break;
  }
}

// Chunk c of row o of `w` as its 8 vectors (a short chunk's lanes past its groups zero).
template <QuantFormat F>
void load_chunk(const QuantMatrix& w, int64_t o, int64_t c, __m512i (&wv)[8]) {
  if (c < w.full_chunks_) {
    const uint8_t* p = chunk_at<F>(w.row(o), c);
    for (int i = 0; i < 8; ++i) wv[i] = line_vector<F>(vector_line<F>(p, i), i);
  } else {
    with_tail_width(w, [&](auto width) {
      constexpr int kBytes = decltype(width)::value;
      for (int i = 0; i < 8; ++i) wv[i] = line_vector<F, kBytes>(vector_line<F, kBytes>(w.tail(o), i), i);
    });
  }
}

// Where the 16 groups of a chunk find their f16 scale (or min) in a row of per-block halves.
struct ChunkBlocks {
  int64_t first;   // block of the chunk's first group
  __m512i lane;    // each group's block minus `first`
  __mmask16 mask;  // the blocks that exist, from `first` on
  bool per_group;  // blocks of one group (32 weights): lane is the identity

  ChunkBlocks(const QuantMatrix& w, int64_t c) {
    const int32_t* gb = w.group_block_.data() + c * kChunkGroups;
    first = gb[0];
    lane = _mm512_sub_epi32(_mm512_loadu_si512(gb), _mm512_set1_epi32(gb[0]));
    mask = lane_mask(w.blocks_per_row_ - first);
    per_group = w.groups_per_block_ == 1;
  }
  __m512 expand(const uint16_t* row) const {
    const __m512 s = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, row + first));
    return per_group ? s : _mm512_permutexvar_ps(lane, s);
  }
  // Two-level scales: the row's uint8 (kSigned: int8 min) codes times its factor. (Applying the
  // scale factor to each row's finished sum instead, and the min codes times min over scale
  // factor, measured no faster from DRAM: q4_u8 one thread 24-25 against 27 GB/s, q4_asym_u8
  // alike, alternating builds.)
  template <bool kSigned>
  __m512 expand_codes(const void* row, float factor) const {
    const __m128i b = _mm_maskz_loadu_epi8(mask, static_cast<const uint8_t*>(row) + first);
    const __m512 s = _mm512_mul_ps(_mm512_cvtepi32_ps(kSigned ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b)),
                                   _mm512_set1_ps(factor));
    return per_group ? s : _mm512_permutexvar_ps(lane, s);
  }
  // Row `record`'s scales (kMins: mins) for the chunk; `factor` its two-level factor (kTwoLevel).
  template <bool kTwoLevel, bool kMins>
  __m512 values(const QuantMatrix& w, const uint8_t* record, float factor) const {
    if constexpr (kTwoLevel) return expand_codes<kMins>(record + (kMins ? w.blocks_per_row_ : 0), factor);
    else return expand(reinterpret_cast<const uint16_t*>(record) + (kMins ? w.blocks_per_row_ : 0));
  }
};

// Each row's two-level factors from row o (nullptr for f16 scales: never read).
struct RowFactors {
  const float* scale = nullptr;
  const float* min = nullptr;
  RowFactors(const QuantMatrix& w, int64_t o) {
    if (!w.two_level_) return;
    scale = w.scale_factors_.data() + o;
    if (w.format_ == QuantFormat::q4_asym) min = w.min_factors_.data() + o;
  }
  template <bool kTwoLevel>
  float scale_at(int g) const { return kTwoLevel ? scale[g] : 0.0f; }
  template <bool kTwoLevel>
  float min_at(int g) const { return kTwoLevel ? min[g] : 0.0f; }
};

// acc[r][g] += the products of chunk c of rows o0 .. o0 + G with activation rows r0 .. r0 + R of
// `a` (decode_rows), the chunk's line 0 of row o0 at `chunk` (lines of kBytes), row
// o0 + g's scale record at scales0 + scale_stride * g. Each load sits next to the prefetch of its
// row's line `ahead` bytes further on. Every loop over rows is unrolled by pragma: the sums stay
// in registers only while every index into them is a constant, and with more than one copy of
// this body in decode_rows (one per chunk width) GCC's own unrolling budget ran out before the
// second (its sums then went to the stack, a store and a load per vpdpbusd).
template <QuantFormat F, bool kTwoLevel, int R, int G, int kBytes>
[[gnu::always_inline]] inline void decode_chunk(const QuantMatrix& w, const QuantActivations& a,
                                                const int8_t* xq, int64_t r0,
                                                const uint8_t* scales0, int64_t scale_stride,
                                                const RowFactors& factors, int64_t c,
                                                const uint8_t* chunk, int64_t ahead,
                                                __m512 (&acc)[R][G]) {
  constexpr int kVectorsPerLine = F == QuantFormat::q8 ? 1 : 2;
  constexpr bool kAsym = F == QuantFormat::q4_asym;
  constexpr int64_t kStep = kBytes;
  // 4-bit decode sums a line's high nibbles in chains of their own: a line's two products then
  // do not wait for each other, and 4-bit decode from DRAM (decode_step/q4/layers, 2 threads)
  // streamed a median 2-4% more of what decode_step/q4read streams beside it (Zen 5, 4
  // sittings of 4-8 alternating rounds, medians 0.850 / 0.834 / 0.852 / 0.821 against 0.816 /
  // 0.815 / 0.833 / 0.805). Not for q8, which measured alike (0.89-0.92 against 0.85-0.93), nor
  // for passes of several activation rows, whose sums already fill the registers.
  constexpr bool kOddChains = kVectorsPerLine == 2 && R == 1 && !(kBytes == 48 && G % 4 == 0);
  __m512i isum[R][G], isum_odd[R][G];
  const int8_t* x[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const int64_t at = (r0 + r) * a.groups_ + c * kChunkGroups;
    const __m512i bias = _mm512_mullo_epi32(_mm512_loadu_si512(a.sum_.data() + at), _mm512_set1_epi32(-weight_bias(F)));
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      isum[r][g] = bias;
      if constexpr (kOddChains) isum_odd[r][g] = _mm512_setzero_si512();
    }
    x[r] = xq + at * kGroup;
  }
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    const uint8_t* line = vector_line<F, kBytes>(chunk, i);  // of row o0
    if (i % kVectorsPerLine == 0)
#pragma GCC unroll 8
      for (int g = 0; g < G; g += std::max<int>(1, 64 / kStep)) {  // a cache line holds 64 / kStep rows' lines
        _mm_prefetch(reinterpret_cast<const char*>(line + kStep * g + ahead), _MM_HINT_T0);
        if constexpr (kVectorsPerLine == 2 && G == QuantMatrix::kPanelRows)
          _mm_prefetch(reinterpret_cast<const char*>(line + kStep * g + kFarStreamPrefetchBytes), _MM_HINT_T2);
      }
    __m512i xv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) xv[r] = _mm512_loadu_si512(x[r] + 64 * i);
    if constexpr (kBytes == 48 && G % 4 == 0) {
#pragma GCC unroll 2
      for (int g4 = 0; g4 < G; g4 += 4) {
        __m512i wv[4];
        lines48(line + kStep * g4, wv);
#pragma GCC unroll 4
        for (int g = 0; g < 4; ++g) {
          const __m512i v = nibble_vector<F>(wv[g], i);
#pragma GCC unroll 4
          for (int r = 0; r < R; ++r) isum[r][g4 + g] = _mm512_dpbusd_epi32(isum[r][g4 + g], v, xv[r]);
        }
      }
    } else {
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const __m512i wv = line_vector<F, kBytes, false>(line + kStep * g, i);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          __m512i& sum = kOddChains && i % 2 ? isum_odd[r][g] : isum[r][g];
          sum = _mm512_dpbusd_epi32(sum, wv, xv[r]);
        }
      }
    }
    // Keeps each line's prefetches beside its loads: unrolled without it, GCC hoisted the
    // chunk's prefetches into one burst at its start, which streamed 15-25% slower on Zen 5.
    asm volatile("" ::: "memory");
  }
  const ChunkBlocks blocks(w, c);
  __m512 dx[R], dsum[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const int64_t at = (r0 + r) * a.groups_ + c * kChunkGroups;
    dx[r] = _mm512_loadu_ps(a.d_.data() + at);
    if constexpr (kAsym) dsum[r] = _mm512_mul_ps(dx[r], _mm512_cvtepi32_ps(_mm512_loadu_si512(a.sum_.data() + at)));
  }
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g) {
    const uint8_t* record = scales0 + g * scale_stride;
    const __m512 sw = blocks.values<kTwoLevel, false>(w, record, factors.scale_at<kTwoLevel>(g));
    __m512 mw = _mm512_setzero_ps();
    if constexpr (kAsym) mw = blocks.values<kTwoLevel, true>(w, record, factors.min_at<kTwoLevel>(g));
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      if constexpr (kOddChains) isum[r][g] = _mm512_add_epi32(isum[r][g], isum_odd[r][g]);
      acc[r][g] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r][g]), _mm512_mul_ps(sw, dx[r]), acc[r][g]);
      if constexpr (kAsym) acc[r][g] = _mm512_fmadd_ps(mw, dsum[r], acc[r][g]);
    }
  }
}

// The sums of the lanes of v[0] .. v[7], in order: one tree of unpacks and lane shuffles (24
// instructions where a reduction each takes 64).
[[gnu::always_inline]] inline __m256 lane_sums8(const __m512 (&v)[8]) {
  // Per 128-bit lane, pairs of vectors: [a0+a2, b0+b2, a1+a3, b1+b3].
  __m512 pair[4];
#pragma GCC unroll 4
  for (int p = 0; p < 4; ++p)
    pair[p] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * p], v[2 * p + 1]), _mm512_unpackhi_ps(v[2 * p], v[2 * p + 1]));
  // Per 128-bit lane, the lane's sums of 4 vectors in order.
  __m512 quad[2];
#pragma GCC unroll 2
  for (int q = 0; q < 2; ++q) {
    const __m512d a = _mm512_castps_pd(pair[2 * q]), b = _mm512_castps_pd(pair[2 * q + 1]);
    quad[q] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  }
  // Lanes [q0.0 + q0.1, q0.2 + q0.3, q1.0 + q1.1, q1.2 + q1.3], then lane 0 + 1 and 2 + 3.
  const __m512 h = _mm512_add_ps(_mm512_shuffle_f32x4(quad[0], quad[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_f32x4(quad[0], quad[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512 s = _mm512_add_ps(h, _mm512_shuffle_f32x4(h, h, _MM_SHUFFLE(3, 3, 3, 1)));
  return _mm512_castps512_ps256(_mm512_shuffle_f32x4(s, s, _MM_SHUFFLE(0, 0, 2, 0)));  // lanes 0, 2
}

// y[r * ldy + g] = the sum of the lanes of acc[r][g]. 6 or 8 accumulators (every pass but a
// panel's leftover rows) go through one lane_sums8 tree, which counts where rows are short: a
// 288-wide q8 row is one chunk, about 30 instructions per weight row besides.
template <int R, int G>
[[gnu::always_inline]] inline void store_sums(const __m512 (&acc)[R][G], float* y, int64_t ldy) {
  if constexpr (R * G > 4) {
    static_assert(R * G <= 8);
    __m512 v[8];
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) v[k] = k < R * G ? acc[k / G][k % G] : _mm512_setzero_ps();
    const __m256 sums = lane_sums8(v);
    if constexpr (R == 1) {
      _mm256_storeu_ps(y, sums);
    } else {
      alignas(32) float t[8];
      _mm256_store_ps(t, sums);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) y[r * ldy + g] = t[r * G + g];
    }
  } else {
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) y[r * ldy + g] = _mm512_reduce_add_ps(acc[r][g]);
  }
}

// y[r * ldy + o0 + g] for r < R, g < G from activation rows r0.. of `a`, rows o0 .. o0 + G of
// one panel; xq: the activation codes of `a` in the weights' lane order (a.qt_).
// Within a chunk the G rows are read line by line in turn (line j of every row, then line j + 1),
// each load next to the prefetch of its row's line kStreamPrefetchBytes ahead: for the 8 rows of
// a panel, one contiguous stream.
template <QuantFormat F, bool kTwoLevel, int R, int G>
void decode_rows(const QuantMatrix& w, const QuantActivations& a, const int8_t* xq, int64_t r0,
                 float* y, int64_t ldy, int64_t o0) {
  const uint8_t* row0 = w.row(o0);
  const RowFactors factors(w, o0);
  const uint8_t* tail = w.tail_groups_ > 0 ? w.tail(o0) : nullptr;
  const auto* scales0 = reinterpret_cast<const uint8_t*>(w.row_scales(o0));
  const int64_t scale_stride = w.scale_stride_, chunks = w.full_chunks_;
  // Fewer rows than a panel also prefetch their scale records in the next panel.
  const int64_t ahead = line_prefetch_distance<G>(w);
  if constexpr (G < QuantMatrix::kPanelRows)
    for (int64_t l = 0; l < G * scale_stride; l += 64) _mm_prefetch(reinterpret_cast<const char*>(scales0 + ahead + l), _MM_HINT_T0);
  __m512 acc[R][G];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) acc[r][g] = _mm512_setzero_ps();
  for (int64_t c = 0; c < chunks; ++c)
    decode_chunk<F, kTwoLevel, R, G, 64>(w, a, xq, r0, scales0, scale_stride, factors, c, chunk_at<F>(row0, c), ahead, acc);
  // A switch, not with_tail_width: the sums must stay in this function's registers.
  switch (tail ? w.tail_line_bytes_ : 0) {
    case 16: decode_chunk<F, kTwoLevel, R, G, 16>(w, a, xq, r0, scales0, scale_stride, factors, chunks, tail, ahead, acc); break;
    case 32: decode_chunk<F, kTwoLevel, R, G, 32>(w, a, xq, r0, scales0, scale_stride, factors, chunks, tail, ahead, acc); break;
    case 48: decode_chunk<F, kTwoLevel, R, G, 48>(w, a, xq, r0, scales0, scale_stride, factors, chunks, tail, ahead, acc); break;
    default: break;
  }
  store_sums<R, G>(acc, y + o0, ldy);
}

// Rows r0 .. r0 + R of `a`, each weight row of [o_begin, o_end) read once.
template <QuantFormat F, bool kTwoLevel, int R>
void decode_pass(const QuantMatrix& w, const QuantActivations& a, const int8_t* xq, int64_t r0,
                 float* y, int64_t ldy, int64_t o_begin, int64_t o_end) {
  constexpr int G = R == 1 ? 8 : R == 2 ? 4 : 2;  // rows read in turn; R * G accumulators
  row_groups<G>(
      o_begin, o_end, [&](int64_t o0) { decode_rows<F, kTwoLevel, R, G>(w, a, xq, r0, y, ldy, o0); },
      [&](int64_t o) { decode_rows<F, kTwoLevel, R, 1>(w, a, xq, r0, y, ldy, o); });
}

// Rows that are one short chunk of 4 or 8 groups and nothing else (stories260K's 64- and
// 172-wide rows): a 64-byte load at line j of a panel's short chunks holds line j of P = 64 /
// kBytes consecutive rows (P = 4 or 2), so each vector multiplies P rows at once against the
// activation groups repeated P times, where decode_rows would fill 4 or 8 of its 16 lanes. Lane
// L of vector v then sums group L % (16 / P) of row P * v + L / (16 / P); the scales are applied
// per lane and each row's lanes summed at the end.
template <int kBytes>
struct ShortRows {
  static constexpr int kRowsPerVector = 64 / kBytes;                       // P
  static constexpr int kVectors = QuantMatrix::kPanelRows / kRowsPerVector;  // per line of a panel
  static constexpr int kLanes = 16 / kRowsPerVector;                       // a row's lanes
  static_assert(kBytes == 16 || kBytes == 32);

  // The first kLanes lanes at p, repeated across the vector.
  static __m512i repeat(const void* p) {
    if constexpr (kBytes == 16) return _mm512_broadcast_i32x4(_mm_loadu_si128(static_cast<const __m128i*>(p)));
    else return _mm512_broadcast_i64x4(_mm256_loadu_si256(static_cast<const __m256i*>(p)));
  }
  static __m512 repeat_ps(const float* p) { return _mm512_castsi512_ps(repeat(p)); }

  // Lanes [0, kLanes) of s[0] .. s[P - 1] side by side: the per-lane values of a vector's rows.
  static __m512 side_by_side(const __m512 (&s)[kRowsPerVector]) {
    if constexpr (kBytes == 32) {
      return _mm512_shuffle_f32x4(s[0], s[1], _MM_SHUFFLE(1, 0, 1, 0));
    } else {
      const __m512 lo = _mm512_shuffle_f32x4(s[0], s[1], 0), hi = _mm512_shuffle_f32x4(s[2], s[3], 0);
      return _mm512_shuffle_f32x4(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    }
  }

  // Each row's sum of its kLanes lanes, for the kVectors vectors of a panel: 8 floats in order.
  static __m256 row_sums(const __m512 (&f)[kVectors]) {
    __m512 h[kVectors];
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v) {
      h[v] = f[v];
      if constexpr (kBytes == 32) h[v] = _mm512_add_ps(h[v], _mm512_shuffle_f32x4(h[v], h[v], _MM_SHUFFLE(2, 3, 0, 1)));
      h[v] = _mm512_add_ps(h[v], _mm512_permute_ps(h[v], _MM_SHUFFLE(2, 3, 0, 1)));
      h[v] = _mm512_add_ps(h[v], _mm512_permute_ps(h[v], _MM_SHUFFLE(1, 0, 3, 2)));
    }
    // A row's sum now fills its lanes; lane 0 of each row's lanes, in order.
    if constexpr (kBytes == 16) {
      const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);
      return _mm512_castps512_ps256(_mm512_permutex2var_ps(h[0], idx, h[1]));
    } else {
      const __m512i idx = _mm512_setr_epi32(0, 8, 16, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
      const __m512 lo = _mm512_permutex2var_ps(h[0], idx, h[1]), hi = _mm512_permutex2var_ps(h[2], idx, h[3]);
      return _mm256_insertf128_ps(_mm512_castps512_ps256(lo), _mm512_castps512_ps128(hi), 1);
    }
  }
};

// y[r * ldy + o0 + m] for r < R, m < 8: the panel of rows o0 .. o0 + 8 (o0 a multiple of 8, all
// of its rows in the matrix) with activation rows r0 .. of `a`; the rows are one short chunk of
// kBytes lines (ShortRows).
template <QuantFormat F, bool kTwoLevel, int R, int kBytes>
void short_rows_panel(const QuantMatrix& w, const QuantActivations& a, const int8_t* xq, int64_t r0,
                      float* y, int64_t ldy, int64_t o0) {
  using S = ShortRows<kBytes>;
  constexpr int P = S::kRowsPerVector, V = S::kVectors;
  constexpr bool kAsym = F == QuantFormat::q4_asym;
  const uint8_t* chunk = w.tail(o0);
  __m512i isum[R][V];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const __m512i bias = _mm512_mullo_epi32(S::repeat(a.sum_.data() + (r0 + r) * a.groups_), _mm512_set1_epi32(-weight_bias(F)));
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) isum[r][v] = bias;
  }
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    const uint8_t* line = vector_line<F, kBytes>(chunk, i);  // of the panel's 8 rows
    __m512i xv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) xv[r] = S::repeat(xq + (r0 + r) * a.groups_ * kGroup + 64 * i);
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      const __m512i wv = line_vector<F>(line + 64 * v, i);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) isum[r][v] = _mm512_dpbusd_epi32(isum[r][v], wv, xv[r]);
    }
  }
  const ChunkBlocks blocks(w, 0);
  const RowFactors factors(w, o0);
  __m512 sw[V], mw[V];
#pragma GCC unroll 4
  for (int v = 0; v < V; ++v) {
    __m512 s[P], m[P];
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      const uint8_t* record = w.row_scale_codes(o0 + P * v + p);  // the row's record, whichever its type
      s[p] = blocks.values<kTwoLevel, false>(w, record, factors.scale_at<kTwoLevel>(P * v + p));
      if constexpr (kAsym) m[p] = blocks.values<kTwoLevel, true>(w, record, factors.min_at<kTwoLevel>(P * v + p));
    }
    sw[v] = S::side_by_side(s);
    if constexpr (kAsym) mw[v] = S::side_by_side(m);
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const int64_t at = (r0 + r) * a.groups_;
    const __m512 dx = S::repeat_ps(a.d_.data() + at);
    __m512 dsum = _mm512_setzero_ps();
    if constexpr (kAsym) dsum = _mm512_mul_ps(dx, _mm512_cvtepi32_ps(S::repeat(a.sum_.data() + at)));
    __m512 f[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      f[v] = _mm512_mul_ps(_mm512_cvtepi32_ps(isum[r][v]), _mm512_mul_ps(sw[v], dx));
      if constexpr (kAsym) f[v] = _mm512_fmadd_ps(mw[v], dsum, f[v]);
    }
    _mm256_storeu_ps(y + r * ldy + o0, S::row_sums(f));
  }
}

// decode_pass for rows that are one short chunk of 16- or 32-byte lines: whole panels by
// short_rows_panel, the rows before and after them one by one.
template <QuantFormat F, bool kTwoLevel, int R, int kBytes>
void short_rows_pass(const QuantMatrix& w, const QuantActivations& a, const int8_t* xq, int64_t r0,
                     float* y, int64_t ldy, int64_t o_begin, int64_t o_end) {
  row_groups<QuantMatrix::kPanelRows>(
      o_begin, o_end, [&](int64_t o0) { short_rows_panel<F, kTwoLevel, R, kBytes>(w, a, xq, r0, y, ldy, o0); },
      [&](int64_t o) { decode_rows<F, kTwoLevel, R, 1>(w, a, xq, r0, y, ldy, o); });
}

// Weight bytes of the output block that every pass over the activation rows reads before the
// next block: small enough to stay in L2 between passes (1 MiB on Zen 5, 2 MiB on the Xeon), so
// a prefill reads each weight row from DRAM or L3 once instead of once per pass of 4 rows.
constexpr int64_t kPassBlockBytes = 256 << 10;

// All rows of `a`, each weight row of [o_begin, o_end) read once per pass of up to 4 rows; with
// more than one pass, block by block of the output range.
void decode_avx512(const QuantMatrix& w, const QuantActivations& a, float* y, int64_t ldy,
                   int64_t o_begin, int64_t o_end) {
  if (o_begin >= o_end) return;
  const int8_t* xq = a.qt_.data();
  const int64_t block = a.rows_ <= kPassRows ? o_end - o_begin
                                             : std::max<int64_t>(16, kPassBlockBytes / w.panel_bytes_ * QuantMatrix::kPanelRows);
  const int64_t short_bytes = w.full_chunks_ == 0 ? w.tail_line_bytes_ : 0;
  with_format(w, [&](auto format) {
    with_scale_levels(w, [&](auto two_level) {
      for (int64_t b0 = o_begin; b0 < o_end; b0 += block) {
        const int64_t b1 = std::min(o_end, b0 + block);
        in_row_passes(a.rows_, [&](auto rows, int64_t r) {
          constexpr QuantFormat F = format.value;
          constexpr bool L = two_level.value;
          constexpr int R = rows.value;
          if (short_bytes == 16) short_rows_pass<F, L, R, 16>(w, a, xq, r, y + r * ldy, ldy, b0, b1);
          else if (short_bytes == 32) short_rows_pass<F, L, R, 32>(w, a, xq, r, y + r * ldy, ldy, b0, b1);
          else decode_pass<F, L, R>(w, a, xq, r, y + r * ldy, ldy, b0, b1);
        });
      }
    });
  });
}

}  // namespace
}  // namespace accelab::cpu
