// The avx2-vnni quantized variant (compile flags in CMakeLists.txt): quant_avx2.hpp with
// AVX-VNNI's 256-bit vpdpbusd.
#define ACCELAB_QUANT_AVX2_VNNI 1
#include "quant_avx2.hpp"
#include "quant_variants.hpp"

namespace accelab::cpu::detail {
constinit const QuantKernels avx2_vnni_quant_kernels{"avx2-vnni", &quantize, &gemm};
}  // namespace accelab::cpu::detail
