// The avx512-vnni+amx quantized variant (compile flags in CMakeLists.txt): the VNNI decode kernel
// for few activation rows, and for many (prefill) an AMX-INT8 GEMM. quant_dispatch.cpp offers it
// only once the kernel has granted this process the tile state.
//
// Tiles: A = 16 weight rows x one group of 32 signed codes, transposed from the lane layout into
// a per-thread panel first (4-bit: unpacked; q4_asym's 0..15 are signed too, so no bias needs
// correcting), B = 16 activation rows x one group in the VNNI layout [8][16][4], C = their 16 x 16
// int32 dot products (signed x signed, tdpbssd). Two A and two B tiles give
// four C tiles per group; each is stored and scaled into float accumulators at once, since every
// group has its own activation scale.
#include <cstring>

#include "half_scalar.hpp"
#include "quant_avx512.hpp"
#include "quant_variants.hpp"
#include "scratch.hpp"

namespace accelab::cpu {
namespace {

constexpr int64_t kTile = 16;          // rows of A and C tiles; activation rows of a B tile
constexpr int64_t kPanel = 2 * kTile;  // weight rows per panel (two A tiles)
constexpr int64_t kTileBytes = kTile * kGroup;
constexpr int64_t kChunkBlocks = 32;   // B tiles of activation rows kept in L2 while panels stream
constexpr int64_t kAmxMinRows = 16;    // fewer activation rows: the decode kernel

struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0, reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Tiles 0-3: C, 4-5: A, 6-7: B.
TileConfig tile_config() {
  TileConfig c;
  for (int t = 0; t < 8; ++t) {
    c.rows[t] = t == 6 || t == 7 ? kGroup / 4 : kTile;
    c.colsb[t] = t == 4 || t == 5 ? kGroup : 64;
  }
  return c;
}

// The activations as B tiles: codes[block][group] (512 bytes each), and per block and group the
// 16 rows' scale and scale * code sum. Rows past the last are zero.
struct PackedInputs {
  int8_t* codes;
  float *dx, *dsum;
};

PackedInputs pack_inputs(const QuantActivations& a, int64_t blocks, int64_t groups) {
  const auto tiles = static_cast<size_t>(blocks * groups);
  float* space = scratch(0, tiles * (kTileBytes / 4 + 2 * kTile));
  PackedInputs p{reinterpret_cast<int8_t*>(space), space + tiles * kTileBytes / 4,
                 space + tiles * (kTileBytes / 4 + kTile)};
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t tile = b * groups + g;
      int8_t* dst = p.codes + tile * kTileBytes;
      for (int64_t n = 0; n < kTile; ++n) {
        const int64_t r = b * kTile + n, side = tile * kTile + n;
        if (r >= a.rows_) {
          for (int64_t k = 0; k < kGroup / 4; ++k) std::memset(dst + k * 64 + n * 4, 0, 4);
          p.dx[side] = p.dsum[side] = 0.0f;
          continue;
        }
        const int8_t* src = a.q_.data() + (r * a.groups_ + g) * kGroup;
        for (int64_t k = 0; k < kGroup / 4; ++k) std::memcpy(dst + k * 64 + n * 4, src + 4 * k, 4);
        const int32_t sum = a.sum_[static_cast<size_t>(r * a.groups_ + g)];
        p.dx[side] = a.d_[static_cast<size_t>(r * a.groups_ + g)];
        p.dsum[side] = p.dx[side] * static_cast<float>(sum);
      }
    }
  return p;
}

// A panel of up to kPanel weight rows from o0: codes as A tiles [group][kPanel][32] of signed
// codes (the stored ones minus their bias), and scales (mins) as floats [block][kPanel]. Groups
// are packed in whole chunks (the scratch holds the padding). Rows past n: zero.
struct Panel {
  int8_t* codes;
  float *scales, *mins;
};

// The 8 vectors of a chunk (lane L of vector j: codes 4j..4j+3 of group L) as signed codes.
template <QuantFormat F>
void load_signed_chunk(const uint8_t* p, __m512i (&v)[8]) {
  load_chunk<F>(p, v);
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

template <QuantFormat F>
Panel pack_panel(const QuantMatrix& w, int64_t o0, int64_t n) {
  const int64_t blocks = w.blocks_per_row_, chunks = w.row_bytes_ / kChunkBytes<F>;
  const int64_t code_floats = chunks * kChunkGroups * kPanel * kGroup / 4;
  float* space = scratch(1, static_cast<size_t>(code_floats + 2 * blocks * kPanel));
  Panel p{reinterpret_cast<int8_t*>(space), space + code_floats, space + code_floats + blocks * kPanel};
  for (int64_t m = 0; m < kPanel; ++m) {
    if (m >= n) {
      for (int64_t g = 0; g < chunks * kChunkGroups; ++g) std::memset(p.codes + (g * kPanel + m) * kGroup, 0, kGroup);
      for (int64_t b = 0; b < blocks; ++b) p.scales[b * kPanel + m] = p.mins[b * kPanel + m] = 0.0f;
      continue;
    }
    const uint8_t* row = w.row(o0 + m);
    for (int64_t b = 0; b < blocks; ++b) {
      p.scales[b * kPanel + m] = half_to_float(w.row_scales(o0 + m)[b]);
      p.mins[b * kPanel + m] = F == QuantFormat::q4_asym ? half_to_float(w.row_mins(o0 + m)[b]) : 0.0f;
    }
    for (int64_t c = 0; c < chunks; ++c) {
      __m512i v[8];
      load_signed_chunk<F>(row + c * kChunkBytes<F>, v);
      store_chunk_groups(v, p.codes + (c * kChunkGroups * kPanel + m) * kGroup, kPanel * kGroup);
    }
  }
  return p;
}

// acc[m][16 * tb + n] += the scaled group products of C tile `c` (A tile ta, B tile tb).
template <bool kAsym>
void scale_tile(const int32_t (&c)[kTile][kTile], int ta, int tb, const PackedInputs& in,
                int64_t tile, const Panel& panel, int64_t block, float (&acc)[kPanel][kPanel]) {
  const __m512 dx = _mm512_loadu_ps(in.dx + tile * kTile);
  const __m512 dsum = _mm512_loadu_ps(in.dsum + tile * kTile);
  for (int64_t i = 0; i < kTile; ++i) {
    const int64_t m = ta * kTile + i;
    float* out = acc[m] + tb * kTile;
    const __m512 isum = _mm512_cvtepi32_ps(_mm512_load_si512(c[i]));
    const __m512 s = _mm512_mul_ps(dx, _mm512_set1_ps(panel.scales[block * kPanel + m]));
    __m512 v = _mm512_fmadd_ps(isum, s, _mm512_loadu_ps(out));
    if constexpr (kAsym) v = _mm512_fmadd_ps(_mm512_set1_ps(panel.mins[block * kPanel + m]), dsum, v);
    _mm512_storeu_ps(out, v);
  }
}

template <QuantFormat F>
void amx_gemm(const QuantMatrix& w, const QuantActivations& a, float* y, int64_t ldy,
              int64_t o_begin, int64_t o_end) {
  constexpr bool kAsym = F == QuantFormat::q4_asym;
  const TileConfig config = tile_config();
  _tile_loadconfig(&config);
  const int64_t groups = w.groups_;
  const int64_t blocks = ceil_div(a.rows_, 2 * kTile) * 2;  // B tiles, in pairs
  const PackedInputs in = pack_inputs(a, blocks, groups);
  // Group g's products are scaled while group g + 1's tiles compute (the stores have landed).
  alignas(64) int32_t c[2][4][kTile][kTile];
  alignas(64) float acc[kPanel][kPanel];

  for (int64_t b0 = 0; b0 < blocks; b0 += kChunkBlocks)
    for (int64_t o0 = o_begin; o0 < o_end; o0 += kPanel) {
      const int64_t n = o_end - o0 < kPanel ? o_end - o0 : kPanel;
      const Panel panel = pack_panel<F>(w, o0, n);
      for (int64_t b = b0; b < blocks && b < b0 + kChunkBlocks; b += 2) {
        auto scale_group = [&](int64_t g) {
          const int64_t block = w.group_block_[static_cast<size_t>(g)];
          for (int t = 0; t < 4; ++t)
            scale_tile<kAsym>(c[g % 2][t], t / 2, t % 2, in, (b + t % 2) * groups + g, panel, block, acc);
        };
        std::memset(acc, 0, sizeof acc);
        for (int64_t g = 0; g < groups; ++g) {
          _tile_zero(0);
          _tile_zero(1);
          _tile_zero(2);
          _tile_zero(3);
          _tile_loadd(4, panel.codes + g * kPanel * kGroup, kGroup);
          _tile_loadd(5, panel.codes + (g * kPanel + kTile) * kGroup, kGroup);
          _tile_loadd(6, in.codes + (b * groups + g) * kTileBytes, 64);
          _tile_loadd(7, in.codes + ((b + 1) * groups + g) * kTileBytes, 64);
          _tile_dpbssd(0, 4, 6);
          _tile_dpbssd(1, 4, 7);
          _tile_dpbssd(2, 5, 6);
          _tile_dpbssd(3, 5, 7);
          auto& stored = c[g % 2];
          _tile_stored(0, stored[0], 64);
          _tile_stored(1, stored[1], 64);
          _tile_stored(2, stored[2], 64);
          _tile_stored(3, stored[3], 64);
          if (g > 0) scale_group(g - 1);
        }
        scale_group(groups - 1);
        for (int64_t j = 0; j < kPanel && (b * kTile + j) < a.rows_; ++j)
          for (int64_t m = 0; m < n; ++m) y[(b * kTile + j) * ldy + o0 + m] = acc[m][j];
      }
    }
  _tile_release();
}

void gemm_amx(const QuantMatrix& w, const QuantActivations& a, float* y, int64_t ldy,
              int64_t o_begin, int64_t o_end) {
  if (a.rows_ < kAmxMinRows || o_begin >= o_end) return decode_avx512(w, a, y, ldy, o_begin, o_end);
  with_format(w, [&](auto format) { amx_gemm<format.value>(w, a, y, ldy, o_begin, o_end); });
}

}  // namespace

namespace detail {
constinit const QuantKernels avx512_amx_quant_kernels{"avx512-vnni+amx", &quantize_avx512,
                                                      &gemm_amx};
}  // namespace detail

}  // namespace accelab::cpu
