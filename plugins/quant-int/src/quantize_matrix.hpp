// Quantizing a whole weight matrix into the stored layout (codes packed per row, f16 scales and
// mins per block), reading it back, and the error it made.
#pragma once

#include <cstdint>
#include <span>

#include "int_format.hpp"

namespace accelab::quant {

/// A quantized [rows, cols] matrix in buffers owned by the caller: codes [rows][row_bytes],
/// scales and (asymmetric only) mins f16 [rows][blocks_per_row].
struct QuantizedMatrix {
  IntFormat format = IntFormat::q8;
  int64_t rows = 0, cols = 0, block = 32;
  uint8_t* codes = nullptr;
  uint16_t* scales = nullptr;
  uint16_t* mins = nullptr;
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
