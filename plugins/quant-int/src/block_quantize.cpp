#include "block_quantize.hpp"

#include <accelab_cpu/kernels.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace accelab::quant {
namespace {

constexpr float kF16Max = 65504.0f;

float absmax(std::span<const float> x) {
  float m = 0.0f;
  for (float v : x) m = std::max(m, std::fabs(v));
  return m;
}

// Rounds (scale, min) to f16, encodes x against the rounded values and returns the block's error.
double encode_rounded(IntFormat f, std::span<const float> x, std::span<const float> imp, float scale,
                      float min, std::span<int8_t> codes, BlockScale& out) {
  out.scale = to_f16(scale);
  out.min = is_asymmetric(f) ? to_f16(min) : uint16_t{0};
  encode_block(f, x, from_f16(out.scale), from_f16(out.min), codes);
  return block_error(x, imp, codes, out);
}

// Weighted least-squares scale for fixed symmetric codes: argmin_d sum imp (x - d L)^2.
bool refit_symmetric(std::span<const float> x, std::span<const float> imp, std::span<const int8_t> codes,
                     float& scale) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double l = codes[i];
    num += imp[i] * x[i] * l;
    den += imp[i] * l * l;
  }
  if (den <= 0.0) return false;
  scale = static_cast<float>(num / den);
  return std::isfinite(scale);
}

// Weighted least-squares (scale, min) for fixed codes: argmin sum imp (x - s L - m)^2.
bool refit_asymmetric(std::span<const float> x, std::span<const float> imp, std::span<const int8_t> codes,
                      float& scale, float& min) {
  double sw = 0.0, sl = 0.0, sl2 = 0.0, sx = 0.0, sxl = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double w = imp[i], l = codes[i];
    sw += w;
    sl += w * l;
    sl2 += w * l * l;
    sx += w * x[i];
    sxl += w * x[i] * l;
  }
  const double det = sw * sl2 - sl * sl;
  if (det <= 0.0) return false;
  scale = static_cast<float>((sw * sxl - sx * sl) / det);
  min = static_cast<float>((sl2 * sx - sl * sxl) / det);
  return scale > 0.0f && std::isfinite(scale) && std::isfinite(min);
}

// Tries one starting point: codes from (scale, min), then one refit + re-encode; keeps
// the result in best/best_codes when its weighted error is strictly lower.
void try_candidate(IntFormat f, std::span<const float> x, std::span<const float> imp, float scale,
                   float min, std::vector<int8_t>& codes, double& best_err, BlockScale& best,
                   std::span<int8_t> best_codes) {
  encode_block(f, x, scale, min, codes);
  {
    const bool ok = is_asymmetric(f) ? refit_asymmetric(x, imp, codes, scale, min)
                                     : refit_symmetric(x, imp, codes, scale);
    if (!ok) return;
    BlockScale s;
    const double err = encode_rounded(f, x, imp, scale, min, codes, s);
    if (err < best_err) {
      best_err = err;
      best = s;
      std::copy(codes.begin(), codes.end(), best_codes.begin());
    }
  }
}

}  // namespace

uint16_t to_f16(float v) { return cpu::f32_to_f16(std::clamp(v, -kF16Max, kF16Max)); }
float from_f16(uint16_t h) { return cpu::f16_to_f32(h); }

void encode_block(IntFormat f, std::span<const float> x, float scale, float min, std::span<int8_t> codes) {
  const FormatInfo fi = info(f);
  const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
  for (size_t i = 0; i < x.size(); ++i) {
    const float q = std::nearbyint((x[i] - min) * inv);
    codes[i] = static_cast<int8_t>(std::clamp(q, static_cast<float>(fi.code_min), static_cast<float>(fi.code_max)));
  }
}

double block_error(std::span<const float> x, std::span<const float> importance,
                   std::span<const int8_t> codes, BlockScale s) {
  return block_error(x, importance, codes, from_f16(s.scale), from_f16(s.min));
}

double block_error(std::span<const float> x, std::span<const float> importance,
                   std::span<const int8_t> codes, float scale, float min) {
  double err = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = static_cast<double>(x[i]) - decode(codes[i], scale, min);
    err += (importance.empty() ? 1.0 : importance[i]) * d * d;
  }
  return err;
}

BlockScale quantize_block_rtn(IntFormat f, std::span<const float> x, std::span<int8_t> codes) {
  BlockScale s;
  if (f == IntFormat::q4_asym) {
    const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
    s.min = to_f16(*lo);
    const float min = from_f16(s.min);
    s.scale = to_f16(std::max(*hi - min, 0.0f) / 15.0f);
    encode_block(f, x, from_f16(s.scale), min, codes);
    return s;
  }
  s.scale = to_f16(absmax(x) / (f == IntFormat::q8 ? 127.0f : 7.0f));
  encode_block(f, x, from_f16(s.scale), 0.0f, codes);
  return s;
}

BlockScale quantize_block_weighted(IntFormat f, std::span<const float> x, std::span<const float> importance,
                                   std::span<int8_t> codes) {
  if (f == IntFormat::q8) throw std::invalid_argument("the weighted search is for 4-bit formats");
  BlockScale best = quantize_block_rtn(f, x, codes);
  double best_err = block_error(x, importance, codes, best);
  if (best_err == 0.0) return best;
  thread_local std::vector<int8_t> scratch;
  scratch.resize(x.size());
  if (f == IntFormat::q4) {
    // Both signs: with codes [-8, 7] the sign decides which end of the block may use -8.
    const float amax = absmax(x);
    for (float sign : {1.0f, -1.0f})
      for (int k = 0; k <= 8; ++k)
        try_candidate(f, x, importance, sign * amax / (6.5f + 0.25f * static_cast<float>(k)), 0.0f,
                      scratch, best_err, best, codes);
  } else {
    const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
    for (int k = 0; k <= 10; ++k)
      try_candidate(f, x, importance, (*hi - *lo) / (14.0f + 0.2f * static_cast<float>(k)), *lo,
                    scratch, best_err, best, codes);
  }
  return best;
}

TwoLevelRow two_level_row(std::span<float> scales, std::span<float> mins, std::span<uint8_t> scale_codes,
                          std::span<int8_t> min_codes) {
  TwoLevelRow row;
  float smax = 0.0f, mmax = 0.0f;
  for (float s : scales) smax = std::max(smax, s);
  for (float m : mins) mmax = std::max(mmax, std::fabs(m));
  row.scale_factor = smax / 255.0f;
  row.min_factor = mmax / 127.0f;
  for (size_t b = 0; b < scales.size(); ++b) {
    const float code = row.scale_factor > 0.0f ? std::nearbyint(scales[b] / row.scale_factor) : 0.0f;
    scale_codes[b] = static_cast<uint8_t>(std::clamp(code, scales[b] > 0.0f ? 1.0f : 0.0f, 255.0f));
    scales[b] = row.scale_factor * static_cast<float>(scale_codes[b]);
  }
  for (size_t b = 0; b < mins.size(); ++b) {
    const float code = row.min_factor > 0.0f ? std::nearbyint(mins[b] / row.min_factor) : 0.0f;
    min_codes[b] = static_cast<int8_t>(std::clamp(code, -127.0f, 127.0f));
    mins[b] = row.min_factor * static_cast<float>(min_codes[b]);
  }
  return row;
}

}  // namespace accelab::quant
