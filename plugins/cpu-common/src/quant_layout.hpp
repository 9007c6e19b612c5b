// The kernel layout of quantized weights and activations (quant.hpp's "layout" fields), shared by
// the baseline code that builds it and every variant that reads it. Internal linkage: included by
// translation units compiled with different -m flags.
//
// Weights, per row of `row_bytes_` bytes (rows start on their own offset; nothing is aligned):
//  - q8: the int8 codes, groups of 32, the last group zero-padded (the source itself when
//    cols % 32 == 0).
//  - q4, q4_asym: 4-bit codes stored unsigned (q4 code + 8; q4_asym code), in chunks of 16
//    groups (512 codes) of 256 bytes, the last chunk zero-padded: four 64-byte lines, byte 4L + b
//    of line k holding code 8k + b (low nibble) and code 8k + 4 + b (high nibble) of the chunk's
//    group L. Unpacked (AND 0x0F, shift right 4), line k gives two vectors whose 32-bit lane L
//    holds 4 codes of group L: every lane of a dot product belongs to one group, so 4-bit decode
//    needs no per-group reduction. The activations are transposed to match per call
//    (transpose_for_nibbles).
// Activations: int8 codes of `groups_` groups per row (a multiple of kChunkGroups, zero past the
// data), with a float scale and the int32 sum of the codes per group (zero past the data).
// The integer dot product of a group is then sum(w_stored * x) - offset * sum(x), offset being
// the bias added to stored weights (kernel-specific for q8, 8 for q4, 0 for q4_asym).
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "accelab_cpu/quant.hpp"

namespace accelab::cpu {
namespace {

constexpr int64_t kGroup = 32;         // codes per activation group (one scale)
constexpr int64_t kChunkGroups = 16;   // groups per SIMD step (one AVX-512 vector of group sums)
constexpr int64_t kChunkCodes = kChunkGroups * kGroup;  // 512
constexpr int64_t kNibbleChunkBytes = kChunkCodes / 2;   // 256

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

constexpr bool is_q4(QuantFormat f) { return f != QuantFormat::q8; }

/// What a stored 4-bit nibble exceeds the code by.
constexpr int nibble_bias(QuantFormat f) { return f == QuantFormat::q4 ? 8 : 0; }

/// Groups per activation row: the weight's groups rounded up to whole chunks.
inline int64_t padded_groups(int64_t cols) {
  return ceil_div(ceil_div(cols, kGroup), kChunkGroups) * kChunkGroups;
}

/// Byte of a 4-bit kernel-layout row that holds code p, and the shift of its nibble.
inline int64_t nibble_byte(int64_t p) {
  const int64_t q = p % kChunkCodes, group = q / kGroup, j = q % kGroup;
  return (p / kChunkCodes) * kNibbleChunkBytes + (j / 8) * 64 + 4 * group + j % 4;
}
inline int nibble_shift(int64_t p) { return p % 8 < 4 ? 0 : 4; }

/// Weight code (signed, or unsigned for q4_asym) of position p of kernel-layout row `row`.
inline int weight_code(QuantFormat f, const uint8_t* row, int64_t p) {
  if (f == QuantFormat::q8) return static_cast<int8_t>(row[p]);
  return ((row[nibble_byte(p)] >> nibble_shift(p)) & 0x0F) - nibble_bias(f);
}

/// Activation codes of row r of `a` in the order of 4-bit weights: per chunk, 8 vectors of 64
/// bytes whose 32-bit lane L holds codes 4j..4j+3 (vector j) of group L. `out`: a.groups_ * 32.
inline void transpose_for_nibbles(const QuantActivations& a, int64_t r, int8_t* out) {
  const int8_t* in = a.q_.data() + r * a.groups_ * kGroup;
  for (int64_t c = 0; c < a.groups_ / kChunkGroups; ++c) {
    const int8_t* src = in + c * kChunkCodes;
    int8_t* dst = out + c * kChunkCodes;
    for (int64_t j = 0; j < 8; ++j)
      for (int64_t group = 0; group < kChunkGroups; ++group)
        std::memcpy(dst + 64 * j + 4 * group, src + kGroup * group + 4 * j, 4);
  }
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
