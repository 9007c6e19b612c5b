// The kernel layout of quantized weights and activations (quant.hpp's "layout" fields), shared by
// the baseline code that builds it and every variant that reads it. Internal linkage: included by
// translation units compiled with different -m flags.
//
// Weights, per row: `row_bytes_` bytes of codes in chunks of 16 groups (512 codes), every code
// stored unsigned (q8 code + 128, q4 code + 8, q4_asym code) and laid out so that 32-bit lane L of
// every vector of a chunk holds 4 codes of group L: a dot-product instruction then accumulates one
// group per lane and nothing needs folding. The decode kernels transpose the (natural-order)
// activation codes to match once per call (transpose_activations).
//  - q8: 8 lines of 64 bytes; byte 4L + b of line j is code 4j + b of group L.
//  - q4, q4_asym: 4 lines of 64 bytes; byte 4L + b of line k holds code 8k + b (low nibble) and
//    code 8k + 4 + b (high nibble) of group L, so the low and high nibbles of line k are vectors
//    2k and 2k + 1 of the q8 arrangement.
// A row whose groups end at most 12 (kMaxTailGroups) past a multiple of 16 ends in a short
// chunk of 4, 8 or 12 groups: lines of 16, 32 or 48 bytes (tail_line_bytes_), lane L of each
// vector group L, the groups past tail_groups_ zero. The kernels read it as if it were a whole
// chunk of zero padding (lanes past the line zero, or meeting zero activations), without storing
// or streaming that padding: whole chunks would stream 32 groups per row at stories110M's dim
// 768 (24 groups), 16 at stories15M's 288 (9) and at stories260K's 64 (2). A row with 13..15
// groups past its whole chunks gets one more whole chunk, zero-padded. Only the last group of a
// row may hold fewer than 32 codes; its missing codes are stored as zero bytes.
// Rows come in panels of 8 (QuantMatrix::kPanelRows): the 8 rows' scale records (f16 scales, and
// q4_asym mins), then their codes interleaved line by line — line j of rows 0..7, then line j + 1
// — so the decode kernel, which reads a panel's 8 rows line by line in turn, reads one
// contiguous stream: with 8 separate row streams per thread Zen 5 overlapped arithmetic with
// memory waits badly (plugins/cpu-common/README.md, "Decode"). Line j of a row's whole chunks is
// at QuantMatrix::row(o) + j * kLineStride; the short chunk's lines follow all of those, with the
// same interleaving at their own width (QuantMatrix::tail). chunk_line_offset finds a line of a chunk.
// Activations: int8 codes of `groups_` groups per row (a multiple of kChunkGroups, zero past the
// data), with a float scale and the int32 sum of the codes per group (zero past the data).
// The integer dot product of a group is then sum(w_stored * x) - bias * sum(x), bias being what
// the stored weights exceed the codes by (weight_bias).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "accelab_cpu/quant.hpp"

namespace accelab::cpu {
namespace {

constexpr int64_t kGroup = 32;         // codes per activation group (one scale)
constexpr int64_t kChunkGroups = 16;   // groups per SIMD step (one AVX-512 vector of group sums)
constexpr int64_t kChunkCodes = kChunkGroups * kGroup;  // 512
constexpr int64_t kMaxTailGroups = 12;  // groups past the whole chunks that a short chunk holds

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// What a stored weight exceeds its code by.
constexpr int weight_bias(QuantFormat f) { return f == QuantFormat::q8 ? 128 : f == QuantFormat::q4 ? 8 : 0; }

/// Groups of a row of `cols` codes that hold data (the last one possibly in part).
inline int64_t real_groups(int64_t cols) { return ceil_div(cols, kGroup); }

/// Groups per activation row: the weight's groups rounded up to whole chunks.
inline int64_t padded_groups(int64_t cols) {
  return ceil_div(real_groups(cols), kChunkGroups) * kChunkGroups;
}

/// Lines of a chunk, and the whole chunk c of a row: lines kChunkLines * c .. of it.
template <QuantFormat F>
constexpr int64_t kChunkLines = F == QuantFormat::q8 ? 8 : 4;
template <QuantFormat F>
const uint8_t* chunk_at(const uint8_t* row, int64_t c) { return row + c * kChunkLines<F> * QuantMatrix::kLineStride; }

/// Bytes from w.codes_ to line `line` of chunk c of row o: 64 bytes of a whole chunk, or
/// tail_line_bytes_ of the short chunk (c == full_chunks_).
inline int64_t chunk_line_offset(const QuantMatrix& w, int64_t o, int64_t c, int64_t line) {
  if (c < w.full_chunks_) return w.row_offset(o) + (c * w.chunk_lines() + line) * QuantMatrix::kLineStride;
  return w.tail_offset(o) + line * w.tail_line_stride();
}

/// Bytes from w.codes_ to the byte that holds code p of row o (4-bit: in the nibble nibble_shift(p)).
inline int64_t code_offset(const QuantMatrix& w, int64_t o, int64_t p) {
  const int64_t q = p % kChunkCodes, group = q / kGroup, j = q % kGroup;
  const int64_t line = j / (w.format_ == QuantFormat::q8 ? 4 : 8);
  return chunk_line_offset(w, o, p / kChunkCodes, line) + 4 * group + j % 4;
}
inline int nibble_shift(int64_t p) { return p % 8 < 4 ? 0 : 4; }

/// Stored (biased, unsigned) value of code p of row o.
inline int stored_code(const QuantMatrix& w, int64_t o, int64_t p) {
  const uint8_t byte = static_cast<const uint8_t*>(w.codes_)[code_offset(w, o, p)];
  return w.format_ == QuantFormat::q8 ? byte : (byte >> nibble_shift(p)) & 0x0F;
}

/// Weight code (signed, or unsigned for q4_asym) of position p of row o.
inline int weight_code(const QuantMatrix& w, int64_t o, int64_t p) { return stored_code(w, o, p) - weight_bias(w.format_); }

/// Activation codes of row r of `a` in the lane order of the weights: per chunk, 8 vectors of
/// 64 bytes whose 32-bit lane L holds codes 4j..4j+3 (vector j) of group L. `out`: a.groups_ * 32.
/// The padding groups (zero codes) are written as zeros without being read.
inline void transpose_activations(const QuantActivations& a, int64_t r, int8_t* out) {
  const int8_t* in = a.q_.data() + r * a.groups_ * kGroup;
  const int64_t real = real_groups(a.cols_);
  for (int64_t c = 0; c < a.groups_ / kChunkGroups; ++c) {
    const int8_t* src = in + c * kChunkCodes;
    int8_t* dst = out + c * kChunkCodes;
    const int64_t groups = std::min(kChunkGroups, real - c * kChunkGroups);
    if (groups < kChunkGroups) std::memset(dst, 0, kChunkCodes);
    for (int64_t j = 0; j < 8; ++j)
      for (int64_t group = 0; group < groups; ++group)
        std::memcpy(dst + 64 * j + 4 * group, src + kGroup * group + 4 * j, 4);
  }
}

/// Fills a.qt_ with every row of `a` transposed (transpose_activations): the quantize of each
/// variant whose decode kernel reads codes in the weights' lane order calls it once, so the
/// threads of a product, and each range a thread claims (backend/balanced_split.hpp), share it.
/// a.qt_ is cache-line aligned: with std::vector's 16-byte alignment every 64-byte load of the
/// codes straddled two lines, which cost a prefill pass (8 such loads per 8 products) a third of
/// its speed on Zen 5.
inline void transpose_all_activations(QuantActivations& a) {
  for (int64_t r = 0; r < a.rows_; ++r) transpose_activations(a, r, a.qt_.data() + r * a.groups_ * kGroup);
}

/// group(o0) for groups of G consecutive rows o0 .. o0 + G of [begin, end), each within a panel
/// (the rows before the first whole panel go one by one), then one(o) for each leftover row.
template <int G, typename Group, typename One>
void row_groups(int64_t begin, int64_t end, Group group, One one) {
  static_assert(QuantMatrix::kPanelRows % G == 0);
  int64_t o = begin;
  for (; o < end && o % QuantMatrix::kPanelRows != 0; ++o) one(o);
  for (; o + G <= end; o += G) group(o);
  for (; o < end; ++o) one(o);
}

// How far ahead of each line the decode kernels prefetch: 8 lines of a row, which for a whole
// panel of rows is 4 KiB ahead in its one stream. Measured on Zen 5 (bench_kernels decode_step,
// alternating builds): 2 KiB streamed ~15% slower, 6 KiB alike, a second prefetch 16 KiB ahead
// into L2 (which the layout of 8 separate row streams needed) 30-40% slower.
constexpr int64_t kStreamPrefetchBytes = 4096;
// 4-bit decode also asks for the line this far ahead to be brought into L2: with about twice q8's
// instructions per byte (the nibble unpacking), the out-of-order window covers half as much of
// the stream, so a line that arrives late stalls it sooner. Alternating builds on Zen 5
// (decode_step/q4/layers, two sets of 4-5 rounds): one thread 18.3-19.9 -> 23.0-26.1 GB/s, two
// threads' medians 39.6 -> 46.9 and 37.9 -> 44.1; 8 and 16 KiB alike. q8 gained nothing from it.
// It does not replace the near prefetch: 4-bit with the far one alone streamed 15-33% slower,
// and with the near one on every other line 20% slower (reports/quantization/history.md).
// Measured again on 2026-12-08, after the high nibbles' own chains: without it 4-bit read 0.80-0.81
// of decode_step/q4read against 0.77-0.79 with it in one set of rounds and 0.77 against 0.78 (two
// threads) in the next, 24 or 48 KiB ahead or on every other line alike: within this machine's
// spread, so it stays (the same file, "What 4-bit's distance to its read loop is not").
constexpr int64_t kFarStreamPrefetchBytes = 12288;

/// How far ahead a decode kernel reading G rows of a panel prefetches each line it reads: a whole
/// panel is one stream, prefetched kStreamPrefetchBytes ahead; fewer rows (passes of several
/// activation rows, or leftover rows) read part of each stretch of the panel's stream, so they
/// prefetch their own rows' lines in the next panel, which their next pass will read.
template <int G>
int64_t line_prefetch_distance(const QuantMatrix& w) {
  return G == QuantMatrix::kPanelRows ? kStreamPrefetchBytes : w.panel_bytes_;
}

constexpr int64_t kPassRows = 4;  // activation rows that share one pass over the weights

/// Calls pass(rows, r0) for rows r0 .. r0 + rows of `total`, in even passes of at most kPassRows
/// rows; `rows` is a std::integral_constant, so the kernel can be a template on it.
template <class Pass>
void in_row_passes(int64_t total, Pass pass) {
  const int64_t passes = ceil_div(total, kPassRows);
  for (int64_t p = 0, r = 0; p < passes; ++p) {
    const int64_t n = (total - r) / (passes - p);
    switch (n) {
      case 1: pass(std::integral_constant<int, 1>{}, r); break;
      case 2: pass(std::integral_constant<int, 2>{}, r); break;
      case 3: pass(std::integral_constant<int, 3>{}, r); break;
      default: pass(std::integral_constant<int, 4>{}, r); break;
    }
    r += n;
  }
}

/// Calls kernel(std::integral_constant<QuantFormat, F>{}) for the format F of `w`.
template <class Kernel>
void with_format(const QuantMatrix& w, Kernel kernel) {
  switch (w.format_) {
    case QuantFormat::q8: return kernel(std::integral_constant<QuantFormat, QuantFormat::q8>{});
    case QuantFormat::q4: return kernel(std::integral_constant<QuantFormat, QuantFormat::q4>{});
    case QuantFormat::q4_asym: return kernel(std::integral_constant<QuantFormat, QuantFormat::q4_asym>{});
  }
}

/// Calls kernel(std::bool_constant<two-level>{}) for how `w` stores its block scales.
template <class Kernel>
void with_scale_levels(const QuantMatrix& w, Kernel kernel) {
  if (w.two_level_) kernel(std::true_type{});
  else kernel(std::false_type{});
}

/// Zeroes the codes, scale and sum of the padding groups of row r of `out` (those past
/// real_groups(cols_), up to groups_): the kernels read them beside the data. The SIMD quantize
/// loops run over the groups that hold data and call this for the rest, which at stories260K's
/// 64-wide rows are 14 of every 16.
inline void zero_padding_groups(QuantActivations& out, int64_t r) {
  const int64_t real = real_groups(out.cols_), pad = out.groups_ - real;
  if (pad <= 0) return;
  const int64_t at = r * out.groups_ + real;
  std::memset(out.q_.data() + at * kGroup, 0, static_cast<size_t>(pad * kGroup));
  std::memset(out.d_.data() + at, 0, static_cast<size_t>(pad) * sizeof(float));
  std::memset(out.sum_.data() + at, 0, static_cast<size_t>(pad) * sizeof(int32_t));
}

/// Checks `out`'s reservation and sets its shape for `rows` rows quantized for `w`.
inline void begin_quantize(const QuantMatrix& w, int64_t rows, QuantActivations& out) {
  if (rows > out.reserved_rows_ || w.cols_ > out.reserved_cols_)
    throw std::length_error("QuantActivations: quantize beyond the reservation");
  out.rows_ = rows;
  out.cols_ = w.cols_;
  out.groups_ = padded_groups(w.cols_);
  out.format_ = w.format_;
}

}  // namespace
}  // namespace accelab::cpu
