// Quantizing a whole weight matrix into the stored layout (codes packed per row, f16 scales and
// mins per block), reading it back, and the error it made.
#pragma once

#include <cstdint>
#include <span>

#include "int_format.hpp"

namespace accelab::quant {

/// A quantized [rows, cols] matrix in buffers owned by the caller: codes [rows][row_bytes],
/// scales and (asymmetric only) mins f16 [rows][blocks_per_row]; or two-level scales (tensor.h):
/// scale_codes uint8 and min_codes int8 [rows][blocks_per_row], with the factors [rows] that turn
/// them into scale = scale_factors[r] * code and min = min_factors[r] * code.
struct QuantizedMatrix {
  IntFormat format = IntFormat::q8;
  int64_t rows = 0, cols = 0, block = 32;
  uint8_t* codes = nullptr;
  uint16_t* scales = nullptr;
  uint16_t* mins = nullptr;
  uint8_t* scale_codes = nullptr;
  int8_t* min_codes = nullptr;
  float* scale_factors = nullptr;
  float* min_factors = nullptr;

  [[nodiscard]] bool two_level() const { return scale_codes != nullptr; }
  /// Block b of row r's scale and min (0 when symmetric), as dequantize applies them.
  [[nodiscard]] float block_scale(int64_t r, int64_t b) const;
  [[nodiscard]] float block_min(int64_t r, int64_t b) const;
};

/// What quantization did to the weights (ŵ - w), summed over the matrix.
struct QuantErrors {
  double sum_sq = 0.0;        ///< sum (ŵ - w)^2
  double max_abs = 0.0;       ///< max |ŵ - w|
  double weighted = 0.0;      ///< sum imp_col (ŵ - w)^2 (only with importance)
  double weighted_rtn = 0.0;  ///< the same for plain round to nearest (only with importance)
};

/// Quantizes w (row-major [rows][cols]) into `out`: round to nearest when `importance` is empty,
/// else the importance-weighted search with importance[col] for every weight of column col.
/// Two-level: each block's scale and min are chosen so first, then rounded to their row's 8-bit
/// codes (two_level_row), and the block's codes chosen again for the stored values.
QuantErrors quantize_matrix(const float* w, std::span<const float> importance, const QuantizedMatrix& out);

/// Code of element (r, c) as stored (sign-extended for I4).
int code_at(const QuantizedMatrix& m, int64_t r, int64_t c);
/// Value of element (r, c): scale * code (+ min).
float dequantize(const QuantizedMatrix& m, int64_t r, int64_t c);
/// Row r as floats into out[0..cols).
void dequantize_row(const QuantizedMatrix& m, int64_t r, float* out);

/// Packs one row of unpacked codes into its stored bytes (row_bytes(f, codes.size())): int8 as
/// is, 4-bit codes two per byte, low nibble first, the high nibble of an odd row's last byte 0.
void pack_row(IntFormat f, std::span<const int8_t> codes, uint8_t* row);

}  // namespace accelab::quant
