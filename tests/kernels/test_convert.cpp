// The scalar f16/bf16 conversions: exhaustive round trips and round-to-nearest-even on values
// crafted to sit exactly on, just above and just below the halfway points.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "accelab_cpu/kernels.hpp"

namespace accelab::cpu {
namespace {

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

bool f16_is_nan(uint16_t h) { return (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0; }
bool bf16_is_nan(uint16_t b) { return (b & 0x7F80) == 0x7F80 && (b & 0x7F) != 0; }

TEST(Convert, F16RoundTripsEveryPattern) {
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    const auto h = static_cast<uint16_t>(bits);
    const float f = f16_to_f32(h);
    if (f16_is_nan(h)) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << bits;
      ASSERT_TRUE(f16_is_nan(f32_to_f16(f))) << std::hex << bits;
    } else {
      ASSERT_EQ(f32_to_f16(f), h) << std::hex << bits;
    }
  }
}

TEST(Convert, F16KnownValues) {
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));
  EXPECT_EQ(f16_to_f32(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(f16_to_f32(0x8000), 0.0f);
  EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
}

TEST(Convert, F16RoundsToNearestEven) {
  const float ulp1 = std::ldexp(1.0f, -10);  // spacing of halves in [1, 2)
  EXPECT_EQ(f32_to_f16(1.0f + ulp1 / 2), 0x3C00);                     // tie, down to even
  EXPECT_EQ(f32_to_f16(1.0f + 3 * ulp1 / 2), 0x3C02);                 // tie, up to even
  EXPECT_EQ(f32_to_f16(std::nextafter(1.0f + ulp1 / 2, 2.0f)), 0x3C01);  // above the tie
  EXPECT_EQ(f32_to_f16(std::nextafter(1.0f + 3 * ulp1 / 2, 0.0f)), 0x3C01);
  EXPECT_EQ(f32_to_f16(2.0f - ulp1 / 4), 0x4000);  // carry into the exponent
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);  // tie at the top rounds to infinity
  EXPECT_EQ(f32_to_f16(-1e10f), 0xFC00);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::infinity()), 0x7C00);
  // Subnormals: multiples of 2^-24.
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);      // tie, down to zero
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);      // tie, up to even
  EXPECT_EQ(f32_to_f16(std::ldexp(1.5f, -25)), 0x0001);      // above the tie
  EXPECT_EQ(f32_to_f16(std::ldexp(5.0f, -26)), 0x0001);      // 1.25 units
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -26)), 0x0000);
  EXPECT_EQ(f32_to_f16(-std::ldexp(1023.5f, -24)), 0x8400);  // rounds up to the smallest normal
  EXPECT_EQ(f32_to_f16(from_bits(0x00000001)), 0x0000);     // f32 subnormal
  EXPECT_TRUE(f16_is_nan(f32_to_f16(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(f16_is_nan(f32_to_f16(from_bits(0x7F800001))));  // payload only in low bits
}

TEST(Convert, Bf16RoundTripsEveryPattern) {
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    const auto b = static_cast<uint16_t>(bits);
    const float f = bf16_to_f32(b);
    if (bf16_is_nan(b)) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << bits;
      ASSERT_TRUE(bf16_is_nan(f32_to_bf16(f))) << std::hex << bits;
    } else {
      ASSERT_EQ(f32_to_bf16(f), b) << std::hex << bits;
    }
  }
}

TEST(Convert, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F808000)), 0x3F80);  // tie, down to even
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F818000)), 0x3F82);  // tie, up to even
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F808001)), 0x3F81);  // above the tie
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F817FFF)), 0x3F81);  // below the tie
  EXPECT_EQ(f32_to_bf16(from_bits(0xBF7FFFFF)), 0xBF80);  // carry into the exponent
  EXPECT_EQ(f32_to_bf16(from_bits(0x7F7FFFFF)), 0x7F80);  // FLT_MAX rounds to infinity
  EXPECT_EQ(f32_to_bf16(from_bits(0x00018000)), 0x0002);  // subnormal tie, up to even
  EXPECT_EQ(f32_to_bf16(-std::numeric_limits<float>::infinity()), 0xFF80);
  EXPECT_TRUE(bf16_is_nan(f32_to_bf16(from_bits(0x7F800001))));  // NaN must not become inf
  EXPECT_TRUE(bf16_is_nan(f32_to_bf16(from_bits(0xFFFFFFFF))));  // nor wrap to zero
}

}  // namespace
}  // namespace accelab::cpu
