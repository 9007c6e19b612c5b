// The three integer block formats quant-int writes, as read by the CPU kernels
// (plugins/cpu-common/include/accelab_cpu/quant.hpp): codes along rows, blocks of `block`
// consecutive codes sharing an f16 scale (and, asymmetric, an f16 min) or, with two-level scales,
// a uint8 scale code (and an int8 min code) times an f32 factor of the row; the last block of a
// row possibly short, 4-bit codes two per byte low nibble first with every row starting on a byte.
#pragma once

#include <accelab/tensor.h>

#include <cstdint>

namespace accelab::quant {

enum class IntFormat {
  q8,      ///< I8, SYMMETRIC: codes [-127, 127], value = scale * code
  q4,      ///< I4, SYMMETRIC: codes [-8, 7], value = scale * code
  q4_asym  ///< U4, ASYMMETRIC: codes [0, 15], value = scale * code + min
};

struct FormatInfo {
  accelab_dtype dtype;
  accelab_quant_scheme scheme;
  uint32_t bits;
  int code_min, code_max;
  const char* name;
};

constexpr FormatInfo info(IntFormat f) {
  switch (f) {
    case IntFormat::q8: return {ACCELAB_DTYPE_I8, ACCELAB_QUANT_SCHEME_SYMMETRIC, 8, -127, 127, "q8"};
    case IntFormat::q4: return {ACCELAB_DTYPE_I4, ACCELAB_QUANT_SCHEME_SYMMETRIC, 4, -8, 7, "q4"};
    case IntFormat::q4_asym: return {ACCELAB_DTYPE_U4, ACCELAB_QUANT_SCHEME_ASYMMETRIC, 4, 0, 15, "q4_asym"};
  }
  return {ACCELAB_DTYPE_I8, ACCELAB_QUANT_SCHEME_SYMMETRIC, 8, -127, 127, "q8"};
}

constexpr bool is_asymmetric(IntFormat f) { return f == IntFormat::q4_asym; }

/// Bytes of codes in one row of `cols` codes (4-bit rows are padded to a whole byte).
constexpr int64_t row_bytes(IntFormat f, int64_t cols) { return info(f).bits == 8 ? cols : (cols + 1) / 2; }

constexpr int64_t blocks_per_row(int64_t cols, int64_t block) { return (cols + block - 1) / block; }

/// Storage actually written for a [rows, cols] matrix: codes, f16 scales and (asymmetric) mins,
/// or with two-level scales one byte per scale (and min) and an f32 factor per row for each.
constexpr uint64_t stored_bytes(IntFormat f, int64_t rows, int64_t cols, int64_t block, bool two_level = false) {
  const int64_t sets = is_asymmetric(f) ? 2 : 1;
  const int64_t side = two_level ? sets * rows * (blocks_per_row(cols, block) + 4) : sets * rows * blocks_per_row(cols, block) * 2;
  return static_cast<uint64_t>(rows * row_bytes(f, cols) + side);
}

}  // namespace accelab::quant
