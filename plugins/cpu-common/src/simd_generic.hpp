// Vector primitives for the portable variant, in GCC/Clang vector extensions: 4 floats, lowered
// to SSE2 on x86-64 (NEON on Arm) without any instruction-set flag.
#pragma once

#include <cmath>
#include <cstring>

#include "half_scalar.hpp"
#include "weight_types.hpp"

namespace accelab::cpu {
namespace {

struct Simd {
  using F = float __attribute__((vector_size(16)));
  using U = uint32_t __attribute__((vector_size(16)));
  using H = uint16_t __attribute__((vector_size(8)));
  static constexpr int kW = 4;
  // Tuning, measured on the project machine (README.md):
  static constexpr int kAccRegs = 12;  // accumulators of the small-batch GEMM (16 registers)
  static constexpr int kMR = 4;        // blocked GEMM micro-tile: kMR rows x kNV vectors
  static constexpr int kNV = 2;
  static constexpr int64_t kChunkedRows = 48;  // up to here passes of <= 8 rows beat blocking
  static constexpr bool kEigenGemm = true;  // blocked GEMM by Eigen (~25% faster than ours)

  template <typename To, typename From>
  static To bits(From v) {
    static_assert(sizeof(To) == sizeof(From));
    To t;
    std::memcpy(&t, &v, sizeof t);
    return t;
  }

  // IEEE half to float without branches: moving the bits into place and multiplying by 2^112
  // rebiases the exponent and makes subnormals exact; inf and NaN get their exponent forced.
  static F halves_to_f32(H raw) {
    const U h = __builtin_convertvector(raw, U);
    const U mag = (h & 0x7FFFu) << 13;
    const F scaled = bits<F>(mag) * bits<F>(U{} + 0x77800000u);
    const U inf_nan = bits<U>((mag & 0x0F800000u) == 0x0F800000u) & 0x7F800000u;
    return bits<F>(bits<U>(scaled) | inf_nan | ((h & 0x8000u) << 16));
  }
  static F bf16_to_f32(H raw) { return bits<F>(__builtin_convertvector(raw, U) << 16); }
  template <typename T>
  static H load_bits(const T* p, int n) {
    H h{};
    std::memcpy(&h, p, static_cast<size_t>(n) * 2);
    return h;
  }

  static float scalar(const float* p) { return *p; }
  static float scalar(const f16_t* p) { return half_to_float(static_cast<uint16_t>(*p)); }
  static float scalar(const bf16_t* p) { return bf16_bits_to_float(static_cast<uint16_t>(*p)); }

  static F zero() { return F{}; }
  static F set1(float a) { return F{} + a; }
  static F load(const float* p) {
    F v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static F load(const f16_t* p) { return halves_to_f32(load_bits(p, kW)); }
  static F load(const bf16_t* p) { return bf16_to_f32(load_bits(p, kW)); }
  static F load_part(const float* p, int n) {
    F v{};
    std::memcpy(&v, p, static_cast<size_t>(n) * sizeof(float));
    return v;
  }
  static F load_part(const f16_t* p, int n) { return halves_to_f32(load_bits(p, n)); }
  static F load_part(const bf16_t* p, int n) { return bf16_to_f32(load_bits(p, n)); }
  static void store(float* p, F v) { std::memcpy(p, &v, sizeof v); }
  static void store_part(float* p, F v, int n) {
    std::memcpy(p, &v, static_cast<size_t>(n) * sizeof(float));
  }

  static F in_register(F v) { return v; }

  static F add(F a, F b) { return a + b; }
  static F sub(F a, F b) { return a - b; }
  static F mul(F a, F b) { return a * b; }
  static F div(F a, F b) { return a / b; }
  static F fma(F a, F b, F c) { return a * b + c; }
  static F max(F a, F b) { return a > b ? a : b; }
  static float hsum(F v) { return (v[0] + v[2]) + (v[1] + v[3]); }
  static float hmax(F v) {
    const float a = v[0] > v[1] ? v[0] : v[1];
    const float b = v[2] > v[3] ? v[2] : v[3];
    return a > b ? a : b;
  }
  static F exp(F x) { return F{std::exp(x[0]), std::exp(x[1]), std::exp(x[2]), std::exp(x[3])}; }
  static void transpose(F (&r)[kW]) {
    const F a = r[0], b = r[1], c = r[2], d = r[3];
    for (int i = 0; i < kW; ++i) r[i] = F{a[i], b[i], c[i], d[i]};
  }
  static F rope(F v, F cs) {
    return F{v[0] * cs[0] - v[1] * cs[1], v[0] * cs[1] + v[1] * cs[0],
             v[2] * cs[2] - v[3] * cs[3], v[2] * cs[3] + v[3] * cs[2]};
  }
};

}  // namespace
}  // namespace accelab::cpu
