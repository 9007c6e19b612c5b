// Quantizing one block of weights: plain round-to-nearest, and the importance-weighted scale
// search of quant-int4-calibrated. Codes come back unpacked (one int8 per weight); the scale and
// min are rounded to f16 before the codes are chosen, so dequantizing with the stored values is
// exactly what was optimised.
#pragma once

#include <cstdint>
#include <span>

#include "int_format.hpp"

namespace accelab::quant {

/// A block's stored parameters as f16 bits; min is 0 for symmetric formats.
struct BlockScale {
  uint16_t scale = 0;
  uint16_t min = 0;
};

/// Plain round to nearest. q8: scale = absmax / 127. q4: scale = absmax / 7 (codes [-7, 7]; -8
/// is left to the calibrated search). q4_asym: min = block min, scale = (max - min) / 15.
BlockScale quantize_block_rtn(IntFormat f, std::span<const float> x, std::span<int8_t> codes);

/// The scale (and min) minimising sum_i importance[i] * (x[i] - value[i])^2 among candidates
/// around the round-to-nearest one, each refitted by weighted least squares given its codes.
/// The round-to-nearest result is a candidate and ties keep it, so the weighted error is never
/// above quantize_block_rtn's. Symmetric q4 and q4_asym only.
BlockScale quantize_block_weighted(IntFormat f, std::span<const float> x,
                                   std::span<const float> importance, std::span<int8_t> codes);

/// The best codes for fixed (f16-rounded) scale and min: clamp(round((x - min) / scale)).
void encode_block(IntFormat f, std::span<const float> x, float scale, float min, std::span<int8_t> codes);

/// value = scale * code + min (min is 0 for symmetric formats).
inline float decode(int code, float scale, float min) { return scale * static_cast<float>(code) + min; }

/// sum_i importance[i] * (x[i] - decode(codes[i]))^2; an empty `importance` weighs every 1.
double block_error(std::span<const float> x, std::span<const float> importance,
                   std::span<const int8_t> codes, BlockScale s);
double block_error(std::span<const float> x, std::span<const float> importance,
                   std::span<const int8_t> codes, float scale, float min);

/// One row's two-level scales: the factors, and the codes that times them give the stored values.
struct TwoLevelRow {
  float scale_factor = 0.0f, min_factor = 0.0f;
};

/// Rounds a row's block scales (all >= 0) to uint8 codes times scale_factor = max / 255 and its
/// mins to int8 codes times min_factor = max |min| / 127 (mins may be empty: symmetric), each
/// to nearest, a scale above zero to code 1 at least; then overwrites scales and mins with the
/// values stored (factor * code, in f32).
TwoLevelRow two_level_row(std::span<float> scales, std::span<float> mins, std::span<uint8_t> scale_codes,
                          std::span<int8_t> min_codes);

/// f16 conversions (the kernel library's), for tests and callers of the above.
uint16_t to_f16(float v);
float from_f16(uint16_t h);

}  // namespace accelab::quant
