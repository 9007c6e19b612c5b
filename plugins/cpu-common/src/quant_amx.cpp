// The avx512-vnni+amx quantized variant (compile flags in CMakeLists.txt): the VNNI decode kernel
// for few activation rows, and for many (prefill) an AMX-BF16 GEMM on dequantized panels.
// quant_dispatch.cpp offers it only once the kernel has granted this process the tile state.
//
// Why bf16 and not AMX-INT8: with a scale per 32 codes on both sides, an int8 tile product covers
// one group, so every 32 codes each 16 x 16 int32 result tile had to be stored, converted and
// scaled into float accumulators; that bookkeeping, not the multiplies, was two thirds of the
// time. Dequantized to bf16 (weights code x scale (+ min), activations code x scale), the scales
// are folded into the operands and the tiles accumulate in f32 over the whole row: results leave
// the tiles once per 16 x 16 block. The price is bf16's 8-bit mantissa on both operands
// (relative error <= 2^-8 per product, tests/kernels allow 2^-7 of the sum of |products|), small
// next to the int8 quantization itself.
//
// Tiles: A = 16 weight rows x 32 inputs (bf16, row-major; a per-thread panel of 32 rows,
// unpacked from the lane layout), B = 16 activation rows x 32 inputs as bf16 pairs (the VNNI
// layout [16][16][2]), C = 16 x 16 f32. Two A and two B tiles give four C tiles per step of 32
// inputs; the next panel's rows are prefetched while one computes.
#include <algorithm>
#include <cstring>

#include "quant_avx512.hpp"
#include "quant_variants.hpp"
#include "scratch.hpp"

namespace accelab::cpu {
namespace {

constexpr int64_t kTile = 16;          // rows of A and C tiles; activation rows of a B tile
constexpr int64_t kPanel = 2 * kTile;  // weight rows per panel (two A tiles)
constexpr int64_t kChunkBlocks = 8;    // blocks of 16 activation rows whose B tiles stay in L2
constexpr int64_t kAmxMinRows = 16;    // fewer activation rows: the decode kernel

struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0, reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// The 8 vectors of chunk c of row o (lane L of vector j: codes 4j..4j+3 of group L) as signed
// codes.
template <QuantFormat F>
void load_signed_chunk(const QuantMatrix& w, int64_t o, int64_t c, __m512i (&v)[8]) {
  load_chunk<F>(w, o, c, v);
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(weight_bias(F)));
  for (__m512i& x : v) x = _mm512_sub_epi8(x, bias);
}

// Transposes the chunk's 8 x 16 dwords into 16 groups of 8 dwords (32 contiguous codes), group L
// to dst + L * stride.
void store_chunk_groups(const __m512i (&v)[8], int8_t* dst, int64_t stride) {
  __m512i t[8], u[8];
  for (int i = 0; i < 4; ++i) {  // per 128-bit lane q: pairs of vectors for groups 4q..4q+3
    t[2 * i] = _mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h) {  // u[4h + r], lane q: vectors 4h..4h+3 of group 4q + r
    u[4 * h + 0] = _mm512_unpacklo_epi64(t[4 * h], t[4 * h + 2]);
    u[4 * h + 1] = _mm512_unpackhi_epi64(t[4 * h], t[4 * h + 2]);
    u[4 * h + 2] = _mm512_unpacklo_epi64(t[4 * h + 1], t[4 * h + 3]);
    u[4 * h + 3] = _mm512_unpackhi_epi64(t[4 * h + 1], t[4 * h + 3]);
  }
  const __m512i lanes01 = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
  const __m512i lanes23 = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
  for (int r = 0; r < 4; ++r) {
    const __m512i a = _mm512_permutex2var_epi64(u[r], lanes01, u[4 + r]);  // groups r, 4 + r
    const __m512i b = _mm512_permutex2var_epi64(u[r], lanes23, u[4 + r]);  // groups 8 + r, 12 + r
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + r * stride), _mm512_castsi512_si256(a));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + (4 + r) * stride), _mm512_extracti64x4_epi64(a, 1));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + (8 + r) * stride), _mm512_castsi512_si256(b));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + (12 + r) * stride), _mm512_extracti64x4_epi64(b, 1));
  }
}

// 16 int8 codes at p as floats.
__m512 codes_to_floats(const int8_t* p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}

// B tiles of activation rows 16 b .. for blocks b in [b0, b1) (rows past the last zero), as
// bf16 pairs: dword kk of column n holds inputs 2kk and 2kk + 1 of row n, each the dequantized
// int8 code; [block - b0][group][16][16] dwords, for the groups that hold data (real_groups).
const uint32_t* pack_bf16_inputs(const QuantActivations& a, int64_t b0, int64_t b1) {
  const int64_t groups = real_groups(a.cols_), stride = a.groups_;
  auto* out = reinterpret_cast<uint32_t*>(scratch(0, static_cast<size_t>((b1 - b0) * groups * 256)));
  const __m512i column = _mm512_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240);
  for (int64_t b = b0; b < b1; ++b)
    for (int64_t n = 0; n < kTile; ++n) {
      const int64_t r = b * kTile + n;
      for (int64_t g = 0; g < groups; ++g) {
        __m512i v = _mm512_setzero_si512();
        if (r < a.rows_) {
          const int8_t* codes = a.q_.data() + (r * stride + g) * kGroup;
          const __m512 d = _mm512_set1_ps(a.d_[static_cast<size_t>(r * stride + g)]);
          v = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(_mm512_mul_ps(codes_to_floats(codes + 16), d),
                                                            _mm512_mul_ps(codes_to_floats(codes), d)));
        }
        _mm512_i32scatter_epi32(out + ((b - b0) * groups + g) * 256 + n, column, v, 4);
      }
    }
  return out;
}

// A tiles: up to kPanel weight rows from o0 as bf16 (code x scale (+ min)), [group][kPanel][32],
// for the groups that hold data (real_groups).
template <QuantFormat F>
const uint16_t* pack_bf16_panel(const QuantMatrix& w, int64_t o0, int64_t n) {
  const int64_t groups = real_groups(w.cols_), chunks = ceil_div(groups, kChunkGroups);
  auto* panel = reinterpret_cast<uint16_t*>(scratch(1, static_cast<size_t>(groups * kPanel * kGroup / 2)));
  alignas(64) int8_t natural[kChunkGroups * kGroup];
  for (int64_t m = 0; m < kPanel; ++m) {
    if (m >= n) {
      for (int64_t g = 0; g < groups; ++g) std::memset(panel + (g * kPanel + m) * kGroup, 0, 2 * kGroup);
      continue;
    }
    for (int64_t c = 0; c < chunks; ++c) {
      __m512i v[8];
      load_signed_chunk<F>(w, o0 + m, c, v);
      store_chunk_groups(v, natural, kGroup);
      for (int64_t l = 0; l < kChunkGroups && c * kChunkGroups + l < groups; ++l) {
        const int64_t g = c * kChunkGroups + l;
        const int64_t block = w.group_block_[static_cast<size_t>(g)];
        const __m512 s = _mm512_set1_ps(w.block_scale(o0 + m, block));
        const __m512 mn = _mm512_set1_ps(w.block_min(o0 + m, block));
        const int8_t* codes = natural + l * kGroup;
        const __m512 lo = _mm512_fmadd_ps(codes_to_floats(codes), s, mn);
        const __m512 hi = _mm512_fmadd_ps(codes_to_floats(codes + 16), s, mn);
        _mm512_store_si512(panel + (g * kPanel + m) * kGroup, reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo)));
      }
    }
  }
  return panel;
}

template <QuantFormat F>
void amx_bf16_gemm(const QuantMatrix& w, const QuantActivations& a, float* y, int64_t ldy,
                   int64_t o_begin, int64_t o_end) {
  TileConfig config;
  for (int t = 0; t < 8; ++t) {
    config.rows[t] = kTile;
    config.colsb[t] = 64;
  }
  _tile_loadconfig(&config);
  // Packing and tiles cover the groups that hold data, not whole chunks of 16 groups (at dim 288
  // they would do 16 groups' work for 9, at dim 64 16 for 2).
  const int64_t groups = real_groups(w.cols_);
  const int64_t blocks = ceil_div(a.rows_, 2 * kTile) * 2;  // B tiles, in pairs
  alignas(64) float c[4][kTile][kTile];
  for (int64_t b0 = 0; b0 < blocks; b0 += kChunkBlocks) {
    const int64_t b1 = std::min(blocks, b0 + kChunkBlocks);
    const uint32_t* in = pack_bf16_inputs(a, b0, b1);
    for (int64_t o0 = o_begin; o0 < o_end; o0 += kPanel) {
      const int64_t n = std::min(kPanel, o_end - o0);
      const uint16_t* panel = pack_bf16_panel<F>(w, o0, n);
      // The next panel's rows (this block chunk's, or the next chunk's first) stream in from
      // memory while this one computes: a line or a few per step of 32 inputs.
      const int64_t next_o = o0 + kPanel < o_end ? o0 + kPanel : o_begin;
      const int64_t next_rows = next_o == o_begin && b1 == blocks ? 0 : std::min(kPanel, o_end - next_o);
      const auto* next = reinterpret_cast<const char*>(w.panel(next_o));
      const int64_t lines = ceil_div(next_rows, QuantMatrix::kPanelRows) * w.panel_bytes_ / 64;
      const int64_t steps = (b1 - b0) / 2 * groups;
      int64_t step = 0;
      for (int64_t b = b0; b < b1; b += 2) {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
        for (int64_t g = 0; g < groups; ++g, ++step) {
          for (int64_t l = step * lines / steps; l < (step + 1) * lines / steps; ++l) _mm_prefetch(next + 64 * l, _MM_HINT_T1);
          _tile_loadd(4, panel + g * kPanel * kGroup, 64);
          _tile_loadd(5, panel + (g * kPanel + kTile) * kGroup, 64);
          _tile_loadd(6, in + ((b - b0) * groups + g) * 256, 64);
          _tile_loadd(7, in + ((b + 1 - b0) * groups + g) * 256, 64);
          _tile_dpbf16ps(0, 4, 6);
          _tile_dpbf16ps(1, 4, 7);
          _tile_dpbf16ps(2, 5, 6);
          _tile_dpbf16ps(3, 5, 7);
        }
        _tile_stored(0, c[0], 64);
        _tile_stored(1, c[1], 64);
        _tile_stored(2, c[2], 64);
        _tile_stored(3, c[3], 64);
        // C tile t: weight rows 16 (t / 2) .., activation rows 16 (b + t % 2) ..
        for (int t = 0; t < 4; ++t)
          for (int64_t j = 0; j < kTile && (b + t % 2) * kTile + j < a.rows_; ++j)
            for (int64_t i = 0; i < kTile && (t / 2) * kTile + i < n; ++i)
              y[((b + t % 2) * kTile + j) * ldy + o0 + (t / 2) * kTile + i] = c[t][i][j];
      }
    }
  }
  _tile_release();
}

// The tile GEMM packs the codes from a.q_; only fewer rows than kAmxMinRows, which go to the
// decode kernel, need them transposed (a.qt_): for a 128-row prefill product with 5632 inputs
// that is about 180 thousand 4-byte copies saved.
void quantize_amx(const QuantMatrix& w, const float* x, int64_t ldx, int64_t rows, QuantActivations& out) {
  quantize_codes_avx512(w, x, ldx, rows, out);
  if (rows < kAmxMinRows) transpose_all_activations(out);
}

void gemm_amx(const QuantMatrix& w, const QuantActivations& a, float* y, int64_t ldy,
              int64_t o_begin, int64_t o_end) {
  if (a.rows_ < kAmxMinRows || o_begin >= o_end) return decode_avx512(w, a, y, ldy, o_begin, o_end);
  with_format(w, [&](auto format) { amx_bf16_gemm<format.value>(w, a, y, ldy, o_begin, o_end); });
}

}  // namespace

namespace detail {
constinit const QuantKernels avx512_amx_quant_kernels{"avx512-vnni+amx", &quantize_amx, &gemm_amx};
}  // namespace detail

}  // namespace accelab::cpu
