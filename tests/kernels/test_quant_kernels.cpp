// The quantized kernels of every variant this CPU runs against an integer-exact scalar reference
// written here: all formats, blocks 32/64/128, widths that are not multiples of 32, decode and
// prefill row counts, output sub-ranges. Plus dequantize, QuantMatrix::from's validation and the
// ISA override.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "accelab_cpu/kernels.hpp"
#include "accelab_cpu/quant.hpp"

namespace accelab::cpu {
namespace {

const char* format_name(QuantFormat f) {
  return f == QuantFormat::q8 ? "q8" : f == QuantFormat::q4 ? "q4" : "q4_asym";
}

/// A matrix in the stored (tensor.h) layout, with its codes also kept unpacked: f16 scales (and
/// mins), or two-level ones (uint8 scale and int8 min codes times a factor per row).
struct Stored {
  QuantFormat format;
  int64_t rows, cols, block;
  std::vector<uint8_t> bytes;
  std::vector<uint16_t> scales, mins;
  std::vector<int> codes;  // [rows][cols]
  bool two_level = false;
  std::vector<uint8_t> scale_codes;
  std::vector<int8_t> min_codes;
  std::vector<float> scale_factors, min_factors;

  int64_t blocks() const { return (cols + block - 1) / block; }
  int code(int64_t r, int64_t c) const { return codes[static_cast<size_t>(r * cols + c)]; }
  float scale(int64_t r, int64_t c) const {
    const auto i = static_cast<size_t>(r * blocks() + c / block);
    return two_level ? scale_factors[static_cast<size_t>(r)] * static_cast<float>(scale_codes[i]) : f16_to_f32(scales[i]);
  }
  float min(int64_t r, int64_t c) const {
    if (format != QuantFormat::q4_asym) return 0.0f;
    const auto i = static_cast<size_t>(r * blocks() + c / block);
    return two_level ? min_factors[static_cast<size_t>(r)] * static_cast<float>(min_codes[i]) : f16_to_f32(mins[i]);
  }
  QuantSource source() const {
    QuantSource s{format, bytes.data(), nullptr, nullptr, rows, cols, block};
    if (two_level) {
      s.scale_codes = scale_codes.data();
      s.scale_factors = scale_factors.data();
      s.min_codes = min_codes.empty() ? nullptr : min_codes.data();
      s.min_factors = min_factors.empty() ? nullptr : min_factors.data();
    } else {
      s.scales = scales.data();
      s.mins = mins.empty() ? nullptr : mins.data();
    }
    return s;
  }
};

/// Random codes over the format's whole range; random scales and mins, or (exact) scales of 1
/// and small integer mins. Two-level: random scale codes (0 among them) and min codes times
/// random row factors, or (exact) factors of 1 and scale codes of 1.
Stored make_stored(QuantFormat f, int64_t rows, int64_t cols, int64_t block, bool exact,
                   std::mt19937& rng, bool two_level = false) {
  Stored s{f, rows, cols, block, {}, {}, {}, {}, false, {}, {}, {}, {}};
  s.two_level = two_level;
  const int lo = f == QuantFormat::q8 ? -127 : f == QuantFormat::q4 ? -8 : 0;
  const int hi = f == QuantFormat::q8 ? 127 : f == QuantFormat::q4 ? 7 : 15;
  std::uniform_int_distribution<int> code(lo, hi);
  s.codes.resize(static_cast<size_t>(rows * cols));
  for (int& c : s.codes) c = code(rng);
  const int64_t row_bytes = f == QuantFormat::q8 ? cols : (cols + 1) / 2;
  s.bytes.assign(static_cast<size_t>(rows * row_bytes), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const int v = s.code(r, c);
      uint8_t& byte = s.bytes[static_cast<size_t>(r * row_bytes + (f == QuantFormat::q8 ? c : c / 2))];
      if (f == QuantFormat::q8) {
        byte = static_cast<uint8_t>(v);
      } else {
        byte |= static_cast<uint8_t>((v & 0x0F) << (c % 2 ? 4 : 0));
      }
    }
  std::uniform_real_distribution<float> scale(0.001f, 0.02f), min(-0.1f, 0.1f);
  std::uniform_int_distribution<int> int_min(-3, 3);
  const size_t n = static_cast<size_t>(rows * s.blocks());
  if (two_level) {
    std::uniform_real_distribution<float> factor(0.02f / 255, 0.08f / 255), min_factor(0.02f / 127, 0.1f / 127);
    std::uniform_int_distribution<int> scale_code(0, 255), min_code(-127, 127), int_min_code(-3, 3);
    for (int64_t r = 0; r < rows; ++r) {
      s.scale_factors.push_back(exact ? 1.0f : factor(rng));
      if (f == QuantFormat::q4_asym) s.min_factors.push_back(exact ? 1.0f : min_factor(rng));
    }
    for (size_t i = 0; i < n; ++i) {
      s.scale_codes.push_back(static_cast<uint8_t>(exact ? 1 : scale_code(rng)));
      if (f == QuantFormat::q4_asym) s.min_codes.push_back(static_cast<int8_t>(exact ? int_min_code(rng) : min_code(rng)));
    }
    return s;
  }
  for (size_t i = 0; i < n; ++i) {
    s.scales.push_back(f32_to_f16(exact ? 1.0f : scale(rng)));
    if (f == QuantFormat::q4_asym)
      s.mins.push_back(f32_to_f16(exact ? static_cast<float>(int_min(rng)) : min(rng)));
  }
  return s;
}

/// Activation rows [rows][ldx]: random floats, or (exact) integers in [-127, 127] with one of
/// magnitude 127 in every group of 32, so every group's scale is exactly 1.
std::vector<float> make_inputs(int64_t rows, int64_t cols, int64_t ldx, bool exact,
                               std::mt19937& rng) {
  std::vector<float> x(static_cast<size_t>(rows * ldx), 1e30f);  // padding: never read
  std::uniform_real_distribution<float> real(-2.0f, 2.0f);
  std::uniform_int_distribution<int> integer(-127, 127);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      x[static_cast<size_t>(r * ldx + c)] = exact ? static_cast<float>(integer(rng)) : real(rng);
  if (exact)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t g = 0; g * 32 < cols; ++g) {
        const int64_t width = std::min<int64_t>(32, cols - g * 32);
        x[static_cast<size_t>(r * ldx + g * 32 + (r + g) % width)] = (r + g) % 2 ? 127.0f : -127.0f;
      }
  return x;
}

/// The test's own quantization of activations (the contract's rule) and the product in exact
/// integers, scaled in double: want[r][o] and the sum of |terms| (the tolerance's scale).
struct Reference {
  std::vector<double> want, magnitude, products;
  int64_t outs;
  double at(int64_t r, int64_t o) const { return want[static_cast<size_t>(r * outs + o)]; }
  double scale(int64_t r, int64_t o) const { return magnitude[static_cast<size_t>(r * outs + o)]; }
  /// The sum of |weight x activation| over single products (the scale of per-product rounding).
  double product_scale(int64_t r, int64_t o) const { return products[static_cast<size_t>(r * outs + o)]; }
};

Reference reference(const Stored& w, const std::vector<float>& x, int64_t rows, int64_t ldx) {
  Reference ref{{}, {}, {}, w.rows};
  const int64_t groups = (w.cols + 31) / 32;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<int> q(static_cast<size_t>(w.cols));
    std::vector<float> d(static_cast<size_t>(groups));
    std::vector<int64_t> sum(static_cast<size_t>(groups), 0);
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t end = std::min(w.cols, (g + 1) * 32);
      float amax = 0.0f;
      for (int64_t c = g * 32; c < end; ++c) amax = std::max(amax, std::fabs(x[static_cast<size_t>(r * ldx + c)]));
      d[static_cast<size_t>(g)] = amax / 127.0f;
      const float id = amax != 0.0f ? 1.0f / d[static_cast<size_t>(g)] : 0.0f;
      for (int64_t c = g * 32; c < end; ++c) {
        q[static_cast<size_t>(c)] = static_cast<int>(std::nearbyint(x[static_cast<size_t>(r * ldx + c)] * id));
        sum[static_cast<size_t>(g)] += q[static_cast<size_t>(c)];
      }
    }
    for (int64_t o = 0; o < w.rows; ++o) {
      double want = 0, magnitude = 0, products = 0;
      for (int64_t g = 0; g < groups; ++g) {
        int64_t isum = 0;
        const double dx = d[static_cast<size_t>(g)];
        for (int64_t c = g * 32; c < std::min(w.cols, (g + 1) * 32); ++c) {
          isum += int64_t{w.code(o, c)} * q[static_cast<size_t>(c)];
          products += std::fabs((double(w.scale(o, c)) * w.code(o, c) + double(w.min(o, c))) * dx * q[static_cast<size_t>(c)]);
        }
        const double term = double(w.scale(o, g * 32)) * dx * double(isum);
        const double min_term = double(w.min(o, g * 32)) * dx * double(sum[static_cast<size_t>(g)]);
        want += term + min_term;
        magnitude += std::fabs(term) + std::fabs(min_term);
      }
      ref.want.push_back(want);
      ref.magnitude.push_back(magnitude);
      ref.products.push_back(products);
    }
  }
  return ref;
}

constexpr QuantFormat kFormats[] = {QuantFormat::q8, QuantFormat::q4, QuantFormat::q4_asym};
constexpr int64_t kRowCounts[] = {1, 2, 3, 7, 64, 200};

const QuantKernels& variant(const std::string& isa) {
  const QuantKernels* k = quant_kernels_for(isa);
  if (!k) throw std::runtime_error("no quantized kernels for " + isa);
  return *k;
}

// Every row count and two output ranges of one matrix shape against the reference: exact
// (every value an integer below 2^24: any float summation order gives the same result) or
// within float rounding.
void check_products(const QuantKernels& k, QuantFormat f, int64_t outs, int64_t cols,
                    int64_t block, bool exact, bool two_level = false) {
  std::mt19937 rng(static_cast<unsigned>(cols * 7 + block + static_cast<int>(f) * 1000 + exact));
  const Stored w = make_stored(f, outs, cols, block, exact, rng, two_level);
  const QuantMatrix m = QuantMatrix::from(w.source());
  const int64_t max_rows = kRowCounts[std::size(kRowCounts) - 1], ldx = cols + 3;
  const std::vector<float> x = make_inputs(max_rows, cols, ldx, exact, rng);
  const Reference ref = reference(w, x, max_rows, ldx);
  QuantActivations a;
  a.reserve(max_rows, cols);
  // Float rounding relative to the sum of |group terms|; the AMX variant's prefill (16 rows or
  // more) rounds both operands to bf16 (quant_amx.cpp): 2^-8 per product, with a margin of 2 for
  // the f32 sums, relative to the sum of |single products|.
  const bool bf16 = std::string_view(k.isa) == "avx512-vnni+amx";
  for (int64_t rows : kRowCounts)
    for (auto [ob, oe] : {std::pair<int64_t, int64_t>{0, outs}, {3, outs - 2}}) {
      SCOPED_TRACE(testing::Message() << k.isa << " " << format_name(f) << " cols=" << cols
                                      << " block=" << block << " rows=" << rows << " range=["
                                      << ob << "," << oe << ")" << (exact ? " exact" : "")
                                      << (two_level ? " two-level" : ""));
      k.quantize(m, x.data(), ldx, rows, a);
      ASSERT_EQ(a.rows(), rows);
      const int64_t ldy = outs + 1;
      std::vector<float> y(static_cast<size_t>(rows * ldy), -7.0f);
      k.gemm(m, a, y.data(), ldy, ob, oe);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t o = 0; o < ldy; ++o) {
          const float got = y[static_cast<size_t>(r * ldy + o)];
          if (o < ob || o >= oe) {
            ASSERT_EQ(got, -7.0f) << "wrote outside the range at r=" << r << " o=" << o;
          } else if (exact) {
            ASSERT_EQ(double(got), ref.at(r, o)) << "r=" << r << " o=" << o;
          } else {
            const double tolerance = bf16 && rows >= 16 ? 0x1p-7 * ref.product_scale(r, o) : 2e-6 * ref.scale(r, o);
            ASSERT_NEAR(got, ref.at(r, o), tolerance + 1e-30) << "r=" << r << " o=" << o;
          }
        }
    }
}

class Quant : public ::testing::TestWithParam<std::string> {};

// Rows of 64, 172 and 288 codes are one short chunk (of 4, 8 and 12 groups: lines of 16, 32 and
// 48 bytes) and nothing else; 600, 768 and 1312 end in one after whole chunks (of 4, 8 and 12
// groups); 416 is one whole chunk with 3 groups of padding, 1000 two whole chunks; 172, 288 and
// 600 end in a short group.
TEST_P(Quant, IntegerPartsExact) {
  for (QuantFormat f : kFormats)
    for (int64_t block : {32, 64, 128})
      for (int64_t cols : {172, 64, 288, 416, 600, 768, 1000, 1312})
        check_products(variant(GetParam()), f, 53, cols, block, true);
}

TEST_P(Quant, MatchesReference) {
  for (QuantFormat f : kFormats)
    for (int64_t block : {32, 64, 128})
      for (int64_t cols : {172, 64, 288, 768, 2048}) check_products(variant(GetParam()), f, 53, cols, block, false);
}

// Two-level scales (uint8 / int8 codes times a factor per row) through the same shapes: rows
// that are one short chunk, end in one, or are whole chunks; blocks of one group and of several.
TEST_P(Quant, TwoLevelScales) {
  for (QuantFormat f : kFormats)
    for (int64_t block : {32, 128})
      for (int64_t cols : {172, 64, 288, 600, 1312, 2048}) {
        check_products(variant(GetParam()), f, 53, cols, block, true, true);
        check_products(variant(GetParam()), f, 53, cols, block, false, true);
      }
  for (QuantFormat f : kFormats) check_products(variant(GetParam()), f, 131, 4096, 32, false, true);
}

// Rows of 4096 codes and 131 outputs: a multi-pass product walks the output range in blocks of
// rows small enough to stay in L2 (quant_avx512.hpp's kPassBlockBytes), several blocks here.
TEST_P(Quant, MatchesReferenceAcrossOutputBlocks) {
  for (QuantFormat f : kFormats) check_products(variant(GetParam()), f, 131, 4096, 32, false);
}

// The backends keep one QuantActivations for every product: quantizing narrow rows after wide
// ones must not leave the wide rows' codes in the narrow rows' padding groups, which the kernels
// read beside the data (the quantize loops skip those groups and zero them). With blocks of 128
// the padding groups of a 64-wide row share the real groups' scale, so stale codes would count.
TEST_P(Quant, ReusedActivationsMatchFreshOnes) {
  const QuantKernels& k = variant(GetParam());
  std::mt19937 rng(11);
  for (QuantFormat f : kFormats) {
    const Stored wide = make_stored(f, 16, 2048, 32, false, rng);
    const QuantMatrix wide_m = QuantMatrix::from(wide.source());
    const std::vector<float> wide_x = make_inputs(200, 2048, 2048, false, rng);
    for (int64_t cols : {64, 172, 600})
      for (int64_t block : {32, 128}) {
        const Stored w = make_stored(f, 53, cols, block, false, rng);
        const QuantMatrix m = QuantMatrix::from(w.source());
        const std::vector<float> x = make_inputs(200, cols, cols, false, rng);
        for (int64_t rows : {1, 200}) {
          SCOPED_TRACE(testing::Message() << k.isa << " " << format_name(f) << " cols=" << cols
                                          << " block=" << block << " rows=" << rows);
          QuantActivations reused, fresh;
          reused.reserve(200, 2048);
          fresh.reserve(rows, cols);
          k.quantize(wide_m, wide_x.data(), 2048, 200, reused);
          k.quantize(m, x.data(), cols, rows, reused);
          k.quantize(m, x.data(), cols, rows, fresh);
          std::vector<float> got(static_cast<size_t>(rows * 53)), want(got.size());
          k.gemm(m, reused, got.data(), 53, 0, 53);
          k.gemm(m, fresh, want.data(), 53, 0, 53);
          ASSERT_EQ(got, want);
        }
      }
  }
}

TEST_P(Quant, QuantizeBeyondReservationThrows) {
  std::mt19937 rng(3);
  const Stored w = make_stored(QuantFormat::q8, 4, 64, 32, false, rng);
  const QuantMatrix m = QuantMatrix::from(w.source());
  const std::vector<float> x(64 * 3, 0.5f);
  QuantActivations a;
  a.reserve(2, 64);
  EXPECT_THROW(variant(GetParam()).quantize(m, x.data(), 64, 3, a), std::length_error);
  a.reserve(3, 32);  // never shrinks
  EXPECT_NO_THROW(variant(GetParam()).quantize(m, x.data(), 64, 3, a));
}

INSTANTIATE_TEST_SUITE_P(Variants, Quant, ::testing::ValuesIn(available_quant_isas()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
                           return name;
                         });

TEST(QuantFormats, DequantizeFollowsTheDefinition) {
  std::mt19937 rng(5);
  for (bool two_level : {false, true})
    for (QuantFormat f : kFormats) {
      const Stored w = make_stored(f, 3, 77, 64, false, rng, two_level);
      const QuantMatrix m = QuantMatrix::from(w.source());
      std::vector<float> row(77);
      for (int64_t r = 0; r < w.rows; ++r) {
        dequantize_row(w.source(), r, row.data());
        for (int64_t c = 0; c < w.cols; ++c) {
          const float want = w.scale(r, c) * float(w.code(r, c)) + w.min(r, c);
          EXPECT_EQ(dequantize(w.source(), r, c), want) << format_name(f) << " " << r << "," << c;
          EXPECT_EQ(row[static_cast<size_t>(c)], want);
          EXPECT_EQ(m.block_scale(r, c / 64), w.scale(r, c));
          EXPECT_EQ(m.block_min(r, c / 64), w.min(r, c));
        }
      }
    }
}

// Two-level records: a byte per scale (then per min), so a 2048-wide row of blocks of 32 keeps
// its 64 scale codes and 64 min codes in two cache lines where f16 took four; the factors count
// in the stream's bytes.
TEST(QuantFormats, TwoLevelRecordsHoldOneBytePerScale) {
  std::mt19937 rng(8);
  for (QuantFormat f : kFormats) {
    const Stored w = make_stored(f, 10, 2048, 32, false, rng, true);
    const QuantMatrix m = QuantMatrix::from(w.source());
    const int64_t sets = f == QuantFormat::q4_asym ? 2 : 1;
    EXPECT_TRUE(m.two_level_);
    EXPECT_EQ(m.scale_stride_, sets * 64);
    EXPECT_EQ(m.stream_bytes(), 10u * static_cast<uint64_t>(m.row_stride_) + 10u * 4 * static_cast<uint64_t>(sets));
    for (int64_t r = 0; r < 10; ++r) {
      EXPECT_EQ(m.row_scale_codes(r) - static_cast<const uint8_t*>(m.codes_), m.scales_offset(r));
      for (int64_t b = 0; b < 64; ++b) {
        EXPECT_EQ(m.row_scale_codes(r)[b], w.scale_codes[static_cast<size_t>(r * 64 + b)]);
        if (f == QuantFormat::q4_asym) {
          EXPECT_EQ(m.row_min_codes(r)[b], w.min_codes[static_cast<size_t>(r * 64 + b)]);
        }
      }
    }
    EXPECT_EQ(m.scale_factors_.size(), 16u);  // two panels
    EXPECT_EQ(m.scale_factors_[15], 0.0f);
  }
}

// The stored (biased) value of code p of row r as the layout promises it: whole chunks' lines are
// 64 bytes, kLineStride apart; a short chunk's tail_line_bytes_, 8 times that apart; byte
// 4 * group + p % 4 of line p % 32 / 4 (q8) or p % 32 / 8 (4-bit, high nibble for p % 8 >= 4).
int stored_at(const QuantMatrix& m, QuantFormat f, int64_t r, int64_t p) {
  const int64_t chunk = p / 512, group = p % 512 / 32, j = p % 32;
  const int64_t line = f == QuantFormat::q8 ? j / 4 : j / 8;
  const uint8_t* base = chunk < m.full_chunks_ ? m.row(r) + (chunk * (f == QuantFormat::q8 ? 8 : 4) + line) * QuantMatrix::kLineStride
                                               : m.tail(r) + line * 8 * m.tail_line_bytes_;
  const uint8_t byte = base[4 * group + j % 4];
  return f == QuantFormat::q8 ? byte : j % 8 < 4 ? byte & 0x0F : byte >> 4;
}

TEST(QuantFormats, RepackedToPanelsOfLineInterleavedRows) {
  std::mt19937 rng(6);
  // 600 codes = 19 groups (the last of 24 codes): a whole chunk of 16 and a short chunk of 4
  // groups (16-byte lines) holding 3; 288 = 9 groups: a short chunk of 12 (48-byte lines); 416 =
  // 13: more than a short chunk holds, so one whole chunk, 3 groups of it padding; 64 = 2 groups:
  // 16-byte lines; 1000 = 32 groups: two whole chunks and nothing after them.
  struct Case {
    int64_t cols, groups, whole, tail, tail_bytes;
  };
  for (const Case k : {Case{600, 19, 1, 3, 16}, Case{288, 9, 0, 9, 48}, Case{416, 13, 1, 0, 0},
                       Case{64, 2, 0, 2, 16}, Case{1000, 32, 2, 0, 0}, Case{200, 7, 0, 7, 32}})
    for (QuantFormat f : kFormats) {
      SCOPED_TRACE(testing::Message() << format_name(f) << " cols=" << k.cols);
      const Stored w = make_stored(f, 10, k.cols, 32, false, rng);
      const QuantMatrix m = QuantMatrix::from(w.source());
      EXPECT_NE(m.codes_, w.bytes.data());
      EXPECT_EQ(m.rows(), 10);
      EXPECT_EQ(m.cols(), k.cols);
      EXPECT_EQ(m.full_chunks_, k.whole);
      EXPECT_EQ(m.tail_groups_, k.tail);
      EXPECT_EQ(m.tail_line_bytes_, k.tail_bytes);
      const int64_t lines = f == QuantFormat::q8 ? 8 : 4;
      EXPECT_EQ(m.row_bytes_, lines * (64 * k.whole + k.tail_bytes));
      // A row's f16 scales take one cache line (two for 1000 codes' 32 blocks as q4_asym's
      // scales and mins); the stream counts the 10 rows' codes and scale records, not the
      // padding rows of the second panel.
      const int64_t record = (f == QuantFormat::q4_asym ? 4 * k.groups + 63 : 2 * k.groups + 63) / 64 * 64;
      EXPECT_EQ(m.scale_stride_, record);
      EXPECT_EQ(m.row_stride_, m.row_bytes_ + record);
      EXPECT_EQ(m.stream_bytes(), 10u * static_cast<uint64_t>(m.row_stride_));
      // Panels of 8 rows: the 8 scale records, then the whole chunks' lines of the 8 rows in turn,
      // then the short chunk's lines likewise.
      const auto* base = static_cast<const uint8_t*>(m.codes_);
      EXPECT_EQ(m.panel_bytes_, 8 * m.row_stride_);
      for (int64_t r = 0; r < 10; ++r) {
        const int64_t panel = (r / 8) * m.panel_bytes_;
        EXPECT_EQ(reinterpret_cast<const uint8_t*>(m.row_scales(r)) - base, panel + (r % 8) * record) << r;
        EXPECT_EQ(m.row(r) - base, panel + 8 * record + (r % 8) * 64) << r;
        if (k.tail) {
          EXPECT_EQ(m.tail(r) - base, panel + 8 * record + lines * 8 * 64 * k.whole + (r % 8) * k.tail_bytes) << r;
        }
        const int bias = f == QuantFormat::q8 ? 128 : f == QuantFormat::q4 ? 8 : 0;
        const int64_t stored = 32 * (k.whole * 16 + k.tail_bytes / 4);
        for (int64_t p = 0; p < stored; ++p) {
          const int want = p < k.cols ? w.code(r, p) + bias : 0;  // padding: zero bytes
          ASSERT_EQ(stored_at(m, f, r, p), want) << "row " << r << " code " << p;
        }
      }
      if (k.tail) {  // the short chunk's lines are the panel's last bytes
        EXPECT_EQ(m.tail(7) + (lines - 1) * m.tail_line_stride() + k.tail_bytes - base, m.panel_bytes_);
      }
      for (int64_t r = 0; r < 10; ++r)
        for (int64_t b = 0; b < k.groups; ++b) {
          EXPECT_EQ(m.row_scales(r)[b], w.scales[static_cast<size_t>(r * k.groups + b)]);
          if (f == QuantFormat::q4_asym) {
            EXPECT_EQ(m.row_mins(r)[b], w.mins[static_cast<size_t>(r * k.groups + b)]);
          }
        }
    }
}

void expect_invalid(QuantSource src, const std::string& what) {
  try {
    (void)QuantMatrix::from(src);
    ADD_FAILURE() << "accepted a source with " << what;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

TEST(QuantFormats, FromValidates) {
  std::mt19937 rng(7);
  const Stored w = make_stored(QuantFormat::q4_asym, 2, 64, 32, false, rng);
  QuantSource s = w.source();
  s.codes = nullptr;
  expect_invalid(s, "codes");
  s = w.source();
  s.scales = nullptr;
  expect_invalid(s, "scales");
  s = w.source();
  s.mins = nullptr;
  expect_invalid(s, "mins");
  for (int64_t block : {0, -32, 48, 16}) {
    s = w.source();
    s.block = block;
    expect_invalid(s, "block");
  }
  s = w.source();
  s.rows = 0;
  expect_invalid(s, "rows");
  s = w.source();
  s.cols = -1;
  expect_invalid(s, "cols");
  s = w.source();
  s.format = QuantFormat::q4;
  s.mins = nullptr;
  EXPECT_NO_THROW((void)QuantMatrix::from(s));

  const Stored t = make_stored(QuantFormat::q4_asym, 2, 64, 32, false, rng, true);
  s = t.source();
  EXPECT_NO_THROW((void)QuantMatrix::from(s));
  s.scale_factors = nullptr;
  expect_invalid(s, "scale_factors");
  s = t.source();
  s.min_factors = nullptr;
  expect_invalid(s, "min");
  s = t.source();
  s.min_codes = nullptr;
  expect_invalid(s, "min");
  s = t.source();
  s.scales = w.scales.data();
  expect_invalid(s, "both");
}

std::string family(const std::string& isa) {
  if (isa.rfind("avx512", 0) == 0) return "avx512";
  return isa.rfind("avx2", 0) == 0 ? "avx2" : isa;
}

TEST(QuantDispatch, AvailableIsasAreOrdered) {
  const std::vector<std::string> isas = available_quant_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), "generic");
  const std::vector<std::string> order{"generic", "avx2", "avx2-vnni", "avx512-vnni", "avx512-vnni+amx"};
  size_t last = 0;
  for (const std::string& isa : isas) {
    const auto pos = static_cast<size_t>(std::find(order.begin(), order.end(), isa) - order.begin());
    ASSERT_LT(pos, order.size()) << isa;
    EXPECT_GE(pos, last);
    last = pos;
    ASSERT_NE(quant_kernels_for(isa), nullptr);
    EXPECT_EQ(std::string(quant_kernels_for(isa)->isa), isa);
  }
  EXPECT_EQ(quant_kernels_for("avx512"), nullptr);
}

// Run by ctest once plainly and once per ACCELAB_CPU_ISA value (kernels.quant_isa_override.*).
TEST(QuantDispatch, BestHonoursOverride) {
  const std::vector<std::string> isas = available_quant_isas();
  std::string want = isas.back();
  if (const char* env = std::getenv("ACCELAB_CPU_ISA")) {
    // The variant of that name, else the best of the family it names (avx2-vnni: avx2 where
    // the CPU lacks AVX-VNNI).
    const std::string e = env;
    std::string exact, in_family;
    for (const std::string& isa : isas) {
      if (isa == e) exact = isa;
      if (family(isa) == e || e.rfind(family(isa) + "-", 0) == 0) in_family = isa;
    }
    if (!exact.empty()) want = exact;
    else if (!in_family.empty()) want = in_family;
  }
  EXPECT_EQ(std::string(best_quant_kernels().isa), want);
}

}  // namespace
}  // namespace accelab::cpu
