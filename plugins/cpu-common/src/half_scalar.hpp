// Portable scalar IEEE half and bfloat16 conversions. Internal linkage on purpose: this header is
// included by translation units compiled with different -m flags, and an inline function with
// external linkage would let the linker keep one instruction set's copy for all of them.
#pragma once

#include <cstdint>
#include <cstring>

namespace accelab::cpu {
namespace {

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t man = h & 0x3FFu;
  if (exp == 0x1F) return bits_float(sign | 0x7F800000u | (man << 13));  // inf, NaN
  if (exp != 0) return bits_float(sign | ((exp + 112) << 23) | (man << 13));
  // Zero or subnormal: man * 2^-24, exact in float.
  const float mag = static_cast<float>(man) * bits_float(0x33800000u);
  return bits_float(sign | float_bits(mag));
}

inline uint16_t float_to_half(float f) {
  const uint32_t u = float_bits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) {  // inf, or NaN kept quiet with the top of its payload
    const uint32_t man = abs & 0x7FFFFFu;
    return static_cast<uint16_t>(sign | 0x7C00u | (man ? 0x200u | (man >> 13) : 0u));
  }
  if (abs >= 0x477FF000u) return sign | 0x7C00u;  // rounds to >= 65520: overflow to inf
  if (abs < 0x38800000u) {                          // below 2^-14: subnormal half or zero
    if (abs < 0x33000000u) return sign;             // <= 2^-25 rounds to zero
    const uint32_t shift = 126 - (abs >> 23);       // 14..24 more bits to drop
    const uint32_t man = (abs & 0x7FFFFFu) | 0x800000u;
    const uint32_t kept = man >> (shift);
    const uint32_t rest = man & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    const uint32_t r = kept + (rest > half || (rest == half && (kept & 1u)));
    return static_cast<uint16_t>(sign | r);
  }
  // Normal: rebias the exponent and round the 13 dropped bits to nearest even; a carry into the
  // exponent is the correct result.
  const uint32_t r = abs - 0x38000000u + 0xFFFu + ((abs >> 13) & 1u);
  return static_cast<uint16_t>(sign | (r >> 13));
}

inline float bf16_bits_to_float(uint16_t b) { return bits_float(static_cast<uint32_t>(b) << 16); }

inline uint16_t float_to_bf16_bits(float f) {
  const uint32_t u = float_bits(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

}  // namespace
}  // namespace accelab::cpu
