#include "accelab_cpu/kernels.hpp"
#include "half_scalar.hpp"

namespace accelab::cpu {

uint16_t f32_to_f16(float f) { return float_to_half(f); }
float f16_to_f32(uint16_t h) { return half_to_float(h); }
uint16_t f32_to_bf16(float f) { return float_to_bf16_bits(f); }
float bf16_to_f32(uint16_t b) { return bf16_bits_to_float(b); }

}  // namespace accelab::cpu
