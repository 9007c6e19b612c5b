// The quant-int quantizers called directly: error bounds of each format (f16 and two-level
// scales), the exact stored layout (codes, nibble order, row alignment, short last blocks), and
// the calibrated search never doing worse than round to nearest on the weighted error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <accelab_cpu/quant.hpp>

#include "block_quantize.hpp"
#include "quantize_matrix.hpp"

namespace accelab::quant {
namespace {

struct Stored {
  std::vector<uint8_t> codes;
  std::vector<uint16_t> scales, mins;
  std::vector<uint8_t> scale_codes;
  std::vector<int8_t> min_codes;
  std::vector<float> scale_factors, min_factors;
  QuantizedMatrix m;
};

Stored quantize(IntFormat f, const std::vector<float>& w, int64_t rows, int64_t cols, int64_t block,
                std::span<const float> importance = {}, QuantErrors* errors = nullptr) {
  Stored s;
  s.codes.assign(static_cast<size_t>(rows * row_bytes(f, cols)), 0xAA);
  s.scales.resize(static_cast<size_t>(rows * blocks_per_row(cols, block)));
  s.mins.resize(is_asymmetric(f) ? s.scales.size() : 0);
  s.m = {f, rows, cols, block, s.codes.data(), s.scales.data(), is_asymmetric(f) ? s.mins.data() : nullptr};
  const QuantErrors e = quantize_matrix(w.data(), importance, s.m);
  if (errors) *errors = e;
  return s;
}

// As quantize, with two-level scales (uint8 and int8 codes times a factor per row).
Stored quantize_two_level(IntFormat f, const std::vector<float>& w, int64_t rows, int64_t cols, int64_t block,
                          std::span<const float> importance = {}, QuantErrors* errors = nullptr) {
  Stored s;
  const auto blocks = static_cast<size_t>(rows * blocks_per_row(cols, block));
  s.codes.assign(static_cast<size_t>(rows * row_bytes(f, cols)), 0xAA);
  s.scale_codes.assign(blocks, 0xAA);
  s.min_codes.assign(is_asymmetric(f) ? blocks : 0, 0x55);
  s.scale_factors.assign(static_cast<size_t>(rows), -1.0f);
  s.min_factors.assign(is_asymmetric(f) ? static_cast<size_t>(rows) : 0, -1.0f);
  s.m = {f, rows, cols, block, s.codes.data()};
  s.m.scale_codes = s.scale_codes.data();
  s.m.scale_factors = s.scale_factors.data();
  if (is_asymmetric(f)) {
    s.m.min_codes = s.min_codes.data();
    s.m.min_factors = s.min_factors.data();
  }
  const QuantErrors e = quantize_matrix(w.data(), importance, s.m);
  if (errors) *errors = e;
  return s;
}

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 0.05f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

float scale_of(const Stored& s, int64_t r, int64_t c) {
  return from_f16(s.scales[static_cast<size_t>(r * blocks_per_row(s.m.cols, s.m.block) + c / s.m.block)]);
}

float min_of(const Stored& s, int64_t r, int64_t c) {
  return from_f16(s.mins[static_cast<size_t>(r * blocks_per_row(s.m.cols, s.m.block) + c / s.m.block)]);
}

using Shape = std::tuple<IntFormat, int64_t /*block*/, int64_t /*cols*/>;

// "q4_asym_block32_cols172": a test name for a Shape.
std::string shape_name(const ::testing::TestParamInfo<Shape>& p) {
  std::string name = info(std::get<0>(p.param)).name;
  name += "_block";
  name += std::to_string(std::get<1>(p.param));
  name += "_cols";
  name += std::to_string(std::get<2>(p.param));
  return name;
}

class RoundTrip : public ::testing::TestWithParam<Shape> {};

TEST_P(RoundTrip, EveryWeightWithinHalfAStepAndRmseBounded) {
  const auto [f, block, cols] = GetParam();
  const int64_t rows = 16;
  const std::vector<float> w = gaussian(static_cast<size_t>(rows * cols), 7);
  QuantErrors e;
  const Stored s = quantize(f, w, rows, cols, block, {}, &e);
  double sum_sq = 0.0, var = 0.0, max_abs = 0.0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const float x = w[static_cast<size_t>(r * cols + c)], y = dequantize(s.m, r, c);
      const float step = scale_of(s, r, c);
      // Asymmetric: the f16 min and scale shift the top of the range by up to 2^-11 relative.
      float slack = 1e-6f * std::fabs(x);
      if (is_asymmetric(f)) slack += std::ldexp(16.0f * step + std::fabs(min_of(s, r, c)), -10);
      EXPECT_LE(std::fabs(x - y), step / 2 + slack) << "r " << r << " c " << c;
      const FormatInfo fi = info(f);
      EXPECT_GE(code_at(s.m, r, c), fi.code_min);
      EXPECT_LE(code_at(s.m, r, c), fi.code_max);
      sum_sq += (x - y) * static_cast<double>(x - y);
      var += static_cast<double>(x) * x;
      max_abs = std::max(max_abs, static_cast<double>(std::fabs(x - y)));
    }
  EXPECT_NEAR(e.sum_sq, sum_sq, 1e-9 + 1e-6 * sum_sq);
  EXPECT_DOUBLE_EQ(e.max_abs, max_abs);
  const double relative_rmse = std::sqrt(sum_sq / var);
  const double bound = f == IntFormat::q8 ? 0.01 : f == IntFormat::q4 ? 0.17 : 0.13;
  EXPECT_LT(relative_rmse, bound);
}

INSTANTIATE_TEST_SUITE_P(Formats, RoundTrip,
                         ::testing::Combine(::testing::Values(IntFormat::q8, IntFormat::q4, IntFormat::q4_asym),
                                            ::testing::Values(32, 64, 128), ::testing::Values(172, 64, 288)),
                         shape_name);

// Weights whose blocks differ in spread (a row's largest block scale sets its factor), so the
// smaller blocks' scale codes are far from 255.
std::vector<float> uneven_rows(int64_t rows, int64_t cols, int64_t block, uint32_t seed) {
  std::vector<float> w = gaussian(static_cast<size_t>(rows * cols), seed);
  std::mt19937 rng(seed);
  std::lognormal_distribution<float> spread(0.0f, 1.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b * block < cols; ++b) {
      const float k = spread(rng);
      for (int64_t c = b * block; c < std::min(cols, (b + 1) * block); ++c) w[static_cast<size_t>(r * cols + c)] += 0.02f * k;
    }
  return w;
}

class TwoLevel : public ::testing::TestWithParam<Shape> {};

// Every weight within half its block's stored step, but for the ends of a block, which the
// rounding of its scale and min to 8-bit codes can clamp: at most (code range) scale roundings
// and one min rounding (half a factor each) further. The RMSE stays within 1% of what f16 scales
// store (5% for q8, whose own error is so small that the scale's rounding shows: 1.006-1.027
// here, 4-bit 0.999-1.002), the stored
// values are code times factor, each row's largest scale is code 255 and its largest |min| 127.
TEST_P(TwoLevel, StoresCodesTimesARowFactorAndLosesLittleAgainstF16) {
  const auto [f, block, cols] = GetParam();
  const int64_t rows = 16, bpr = blocks_per_row(cols, block);
  const auto levels = static_cast<float>(info(f).code_max - info(f).code_min);
  const std::vector<float> w = uneven_rows(rows, cols, block, 17);
  QuantErrors e, e16;
  const Stored s = quantize_two_level(f, w, rows, cols, block, {}, &e);
  (void)quantize(f, w, rows, cols, block, {}, &e16);
  double sum_sq = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const float sf = s.scale_factors[static_cast<size_t>(r)];
    const float mf = is_asymmetric(f) ? s.min_factors[static_cast<size_t>(r)] : 0.0f;
    int top_scale = 0, top_min = 0;
    for (int64_t b = 0; b < bpr; ++b) {
      const auto i = static_cast<size_t>(r * bpr + b);
      EXPECT_EQ(s.m.block_scale(r, b), sf * static_cast<float>(s.scale_codes[i]));
      top_scale = std::max<int>(top_scale, s.scale_codes[i]);
      if (is_asymmetric(f)) {
        EXPECT_EQ(s.m.block_min(r, b), mf * static_cast<float>(s.min_codes[i]));
        top_min = std::max(top_min, std::abs(static_cast<int>(s.min_codes[i])));
      }
    }
    EXPECT_EQ(top_scale, 255) << "row " << r;
    if (is_asymmetric(f)) {
      EXPECT_EQ(top_min, 127) << "row " << r;
    }
    for (int64_t c = 0; c < cols; ++c) {
      const float x = w[static_cast<size_t>(r * cols + c)], y = dequantize(s.m, r, c);
      const float step = s.m.block_scale(r, c / block);
      EXPECT_LE(std::fabs(x - y), step / 2 + levels * sf / 2 + mf / 2 + 1e-6f * std::fabs(x)) << "r " << r << " c " << c;
      EXPECT_GE(code_at(s.m, r, c), info(f).code_min);
      EXPECT_LE(code_at(s.m, r, c), info(f).code_max);
      sum_sq += (x - y) * static_cast<double>(x - y);
    }
  }
  EXPECT_NEAR(e.sum_sq, sum_sq, 1e-9 + 1e-6 * sum_sq);
  EXPECT_LT(std::sqrt(e.sum_sq / e16.sum_sq), f == IntFormat::q8 ? 1.05 : 1.01) << "two-level against f16 scales, relative RMSE";
}

INSTANTIATE_TEST_SUITE_P(Formats, TwoLevel,
                         ::testing::Combine(::testing::Values(IntFormat::q8, IntFormat::q4, IntFormat::q4_asym),
                                            ::testing::Values(32, 128), ::testing::Values(172, 2048)),
                         shape_name);

TEST(TwoLevel, AZeroRowStaysZeroAndAConstantBlockKeepsItsValue) {
  std::vector<float> w(2 * 64, 0.0f);
  for (int64_t c = 64; c < 96; ++c) w[static_cast<size_t>(c)] = 0.25f;  // row 1: a constant block, then zeros
  for (IntFormat f : {IntFormat::q8, IntFormat::q4, IntFormat::q4_asym}) {
    const Stored s = quantize_two_level(f, w, 2, 64, 32);
    for (int64_t c = 0; c < 64; ++c) EXPECT_EQ(dequantize(s.m, 0, c), 0.0f) << info(f).name;
    // Within the first stage's f16 rounding of the scale, which f16 scales keep too.
    for (int64_t c = 0; c < 64; ++c) EXPECT_NEAR(dequantize(s.m, 1, c), w[static_cast<size_t>(64 + c)], 0x1p-10f) << info(f).name;
  }
}

TEST(Int8, ScaleIsTheF16OfAbsmaxOver127AndCodesAreExact) {
  std::vector<float> w(32);
  for (int i = 0; i < 32; ++i) w[static_cast<size_t>(i)] = static_cast<float>(i * 8 - 127);
  w[31] = 127.0f;  // absmax 127: scale exactly 1, so every integer weight is its own code
  const Stored s = quantize(IntFormat::q8, w, 1, 32, 32);
  EXPECT_EQ(s.scales[0], to_f16(1.0f));
  for (int64_t c = 0; c < 32; ++c) EXPECT_EQ(code_at(s.m, 0, c), static_cast<int>(w[static_cast<size_t>(c)]));
  for (int64_t c = 0; c < 32; ++c) EXPECT_EQ(static_cast<int8_t>(s.codes[static_cast<size_t>(c)]), code_at(s.m, 0, c));

  const std::vector<float> g = gaussian(32, 3);
  float amax = 0.0f;
  for (float x : g) amax = std::max(amax, std::fabs(x));
  EXPECT_EQ(quantize(IntFormat::q8, g, 1, 32, 32).scales[0], to_f16(amax / 127.0f));
}

TEST(Int4, NibblesAreLowFirstTwosComplementAndRowsStartOnAByte) {
  // Scale 1 (absmax 7): the weights are their own codes. Five columns: three bytes per row, the
  // high nibble of each row's last byte is padding.
  const std::vector<float> w = {-7, 7, -1, 0, 3,  //
                                1, -2, 5, -6, 7};
  const Stored s = quantize(IntFormat::q4, w, 2, 5, 32);
  ASSERT_EQ(s.codes.size(), 6u);
  EXPECT_EQ(s.codes[0], 0x79);  // -7 = 0x9 low, 7 high
  EXPECT_EQ(s.codes[1], 0x0F);  // -1 = 0xF low, 0 high
  EXPECT_EQ(s.codes[2], 0x03);  // 3, padding
  EXPECT_EQ(s.codes[3], 0xE1);  // 1 low, -2 = 0xE high
  EXPECT_EQ(s.codes[4], 0xA5);  // 5 low, -6 = 0xA high
  EXPECT_EQ(s.codes[5], 0x07);  // 7, padding
  EXPECT_EQ(from_f16(s.scales[0]), 1.0f);
  EXPECT_EQ(from_f16(s.scales[1]), 1.0f);

  std::vector<uint8_t> row(2);
  const std::vector<int8_t> codes = {-8, 7, 0};
  pack_row(IntFormat::q4, codes, row.data());
  EXPECT_EQ(row[0], 0x78);
  EXPECT_EQ(row[1], 0x00);
}

TEST(Int4Asym, CodesAreUnsignedNibblesWithTheBlockMin) {
  std::vector<float> w(16);
  for (int i = 0; i < 16; ++i) w[static_cast<size_t>(i)] = 2.0f + static_cast<float>(15 - i) * 0.5f;
  const Stored s = quantize(IntFormat::q4_asym, w, 1, 16, 32);
  EXPECT_EQ(from_f16(s.mins[0]), 2.0f);
  EXPECT_EQ(from_f16(s.scales[0]), 0.5f);
  for (int64_t c = 0; c < 16; ++c) EXPECT_EQ(code_at(s.m, 0, c), 15 - c);
  EXPECT_EQ(s.codes[0], 0xEF);  // 15 low, 14 high
  EXPECT_EQ(s.codes[7], 0x01);  // 1 low, 0 high
}

TEST(Blocks, TheLastBlockOfARowIsShortAndScaledOnItsOwn) {
  // 172 columns in blocks of 128: a full block of large weights, then 44 small ones.
  std::vector<float> w(2 * 172);
  for (size_t i = 0; i < w.size(); ++i) w[i] = (i % 172) < 128 ? 1.0f : 0.01f;
  for (IntFormat f : {IntFormat::q8, IntFormat::q4, IntFormat::q4_asym}) {
    const Stored s = quantize(f, w, 2, 172, 128);
    ASSERT_EQ(s.scales.size(), 4u);
    for (int64_t c = 128; c < 172; ++c) EXPECT_NEAR(dequantize(s.m, 1, c), 0.01f, 1e-4f) << info(f).name;
  }
}

TEST(Blocks, AZeroBlockStaysZero) {
  const std::vector<float> w(64, 0.0f);
  for (IntFormat f : {IntFormat::q8, IntFormat::q4, IntFormat::q4_asym}) {
    const Stored s = quantize(f, w, 1, 64, 32);
    for (int64_t c = 0; c < 64; ++c) EXPECT_EQ(dequantize(s.m, 0, c), 0.0f);
  }
}

TEST(Storage, BitsPerWeightCountCodesScalesAndMins) {
  // stories260K's 64x172 matrices in blocks of 32: 86 bytes of codes and 6 blocks per row.
  EXPECT_EQ(stored_bytes(IntFormat::q4, 64, 172, 32), 64u * (86 + 6 * 2));
  EXPECT_EQ(stored_bytes(IntFormat::q4_asym, 64, 172, 32), 64u * (86 + 6 * 4));
  EXPECT_EQ(stored_bytes(IntFormat::q8, 64, 172, 128), 64u * (172 + 2 * 2));
  EXPECT_EQ(stored_bytes(IntFormat::q4, 288, 288, 32) * 8, 288u * 288 * 4 + 288u * 9 * 16);  // 4.5 bits
  // Two-level: a byte per scale (and min) and an f32 factor per row for each.
  EXPECT_EQ(stored_bytes(IntFormat::q4, 64, 172, 32, true), 64u * (86 + 6 + 4));
  EXPECT_EQ(stored_bytes(IntFormat::q4_asym, 64, 172, 32, true), 64u * (86 + 2 * (6 + 4)));
  EXPECT_EQ(stored_bytes(IntFormat::q4_asym, 2048, 2048, 32, true) * 8, 2048u * (2048 * 4 + 2 * (64 * 8 + 32)));  // 4.53 bits
}

// The kernels' reading of the formats (accelab_cpu/quant.hpp) is the contract: every stored
// element must read back as the value quant-int meant, codes included.
TEST(Contract, TheKernelLibraryReadsWhatWasStored) {
  for (bool two_level : {false, true})
  for (IntFormat f : {IntFormat::q8, IntFormat::q4, IntFormat::q4_asym})
    for (int64_t block : {32, 128})
      for (int64_t cols : {172, 64, 33}) {
        const int64_t rows = 5;
        const std::vector<float> w = gaussian(static_cast<size_t>(rows * cols), 21);
        const Stored s = two_level ? quantize_two_level(f, w, rows, cols, block) : quantize(f, w, rows, cols, block);
        cpu::QuantSource src;
        src.format = f == IntFormat::q8 ? cpu::QuantFormat::q8 : f == IntFormat::q4 ? cpu::QuantFormat::q4 : cpu::QuantFormat::q4_asym;
        src.codes = s.codes.data();
        if (two_level) {
          src.scale_codes = s.scale_codes.data();
          src.scale_factors = s.scale_factors.data();
          src.min_codes = is_asymmetric(f) ? s.min_codes.data() : nullptr;
          src.min_factors = is_asymmetric(f) ? s.min_factors.data() : nullptr;
        } else {
          src.scales = s.scales.data();
          src.mins = is_asymmetric(f) ? s.mins.data() : nullptr;
        }
        src.rows = rows;
        src.cols = cols;
        src.block = block;
        ASSERT_NO_THROW((void)cpu::QuantMatrix::from(src)) << info(f).name;
        std::vector<float> row(static_cast<size_t>(cols));
        for (int64_t r = 0; r < rows; ++r) {
          cpu::dequantize_row(src, r, row.data());
          for (int64_t c = 0; c < cols; ++c)
            ASSERT_EQ(row[static_cast<size_t>(c)], dequantize(s.m, r, c))
                << info(f).name << (two_level ? " two-level" : "") << " block " << block << " cols " << cols << " at " << r << "," << c;
        }
      }
}

class Calibrated : public ::testing::TestWithParam<IntFormat> {};

TEST_P(Calibrated, NeverWorseThanRoundToNearestOnTheWeightedError) {
  const IntFormat f = GetParam();
  std::mt19937 rng(11);
  std::lognormal_distribution<float> spread(0.0f, 1.5f);
  double total = 0.0, total_rtn = 0.0;
  for (int trial = 0; trial < 200; ++trial) {
    const int n = trial % 3 == 0 ? 44 : 32;  // some short blocks too
    const std::vector<float> x = gaussian(static_cast<size_t>(n), static_cast<uint32_t>(trial));
    std::vector<float> imp(static_cast<size_t>(n));
    for (float& v : imp) v = spread(rng);
    std::vector<int8_t> q(static_cast<size_t>(n)), rq(static_cast<size_t>(n));
    const BlockScale s = quantize_block_weighted(f, x, imp, q);
    const BlockScale rs = quantize_block_rtn(f, x, rq);
    const double err = block_error(x, imp, q, s), err_rtn = block_error(x, imp, rq, rs);
    EXPECT_LE(err, err_rtn) << "trial " << trial;
    for (int8_t c : q) {
      EXPECT_GE(c, info(f).code_min);
      EXPECT_LE(c, info(f).code_max);
    }
    total += err;
    total_rtn += err_rtn;
  }
  EXPECT_LT(total / total_rtn, 0.9) << "the search should find clearly better scales on average";
}

// sum over the matrix of imp[col] * (stored value - w)^2.
double weighted_error(const QuantizedMatrix& m, const std::vector<float>& w, const std::vector<float>& imp) {
  double weighted = 0.0;
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t c = 0; c < m.cols; ++c) {
      const double d = dequantize(m, r, c) - w[static_cast<size_t>(r * m.cols + c)];
      weighted += imp[static_cast<size_t>(c)] * d * d;
    }
  return weighted;
}

TEST_P(Calibrated, MatrixReportsTheSameErrorsItStored) {
  const IntFormat f = GetParam();
  const int64_t rows = 8, cols = 172;
  const std::vector<float> w = gaussian(static_cast<size_t>(rows * cols), 5);
  std::vector<float> imp(static_cast<size_t>(cols));
  for (size_t i = 0; i < imp.size(); ++i) imp[i] = 0.1f + static_cast<float>(i % 7);
  QuantErrors e;
  const Stored s = quantize(f, w, rows, cols, 64, imp, &e);
  const double weighted = weighted_error(s.m, w, imp);
  EXPECT_NEAR(e.weighted, weighted, 1e-6 * weighted);
  EXPECT_LE(e.weighted, e.weighted_rtn);
}

// With two-level scales the search's scales are rounded to 8-bit codes after it, so block by
// block it may lose to round to nearest (rounded alike); over a matrix it must still win, and
// the errors reported must be those of what was stored.
TEST_P(Calibrated, TwoLevelStillBeatsRoundToNearestOverAMatrix) {
  const IntFormat f = GetParam();
  const int64_t rows = 16, cols = 256;
  const std::vector<float> w = uneven_rows(rows, cols, 32, 23);
  std::mt19937 rng(3);
  std::lognormal_distribution<float> spread(0.0f, 1.5f);
  std::vector<float> imp(static_cast<size_t>(cols));
  for (float& v : imp) v = spread(rng);
  QuantErrors e;
  const Stored s = quantize_two_level(f, w, rows, cols, 32, imp, &e);
  const double weighted = weighted_error(s.m, w, imp);
  EXPECT_NEAR(e.weighted, weighted, 1e-6 * weighted);
  EXPECT_LT(e.weighted, 0.95 * e.weighted_rtn);
}

TEST_P(Calibrated, ZeroImportanceKeepsRoundToNearest) {
  const IntFormat f = GetParam();
  const std::vector<float> x = gaussian(32, 9), imp(32, 0.0f);
  std::vector<int8_t> q(32), rq(32);
  const BlockScale s = quantize_block_weighted(f, x, imp, q), rs = quantize_block_rtn(f, x, rq);
  EXPECT_EQ(s.scale, rs.scale);
  EXPECT_EQ(s.min, rs.min);
  EXPECT_EQ(q, rq);
}

INSTANTIATE_TEST_SUITE_P(Schemes, Calibrated, ::testing::Values(IntFormat::q4, IntFormat::q4_asym),
                         [](const auto& p) { return std::string(accelab::quant::info(p.param).name); });

}  // namespace
}  // namespace accelab::quant
