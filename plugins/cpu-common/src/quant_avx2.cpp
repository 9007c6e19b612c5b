// The avx2 quantized variant (compile flags in CMakeLists.txt): vpmaddubsw + vpmaddwd.
#define ACCELAB_QUANT_AVX2_VNNI 0
#include "quant_avx2.hpp"
#include "quant_variants.hpp"

namespace accelab::cpu::detail {
constinit const QuantKernels avx2_quant_kernels{"avx2", &quantize, &gemm};
}  // namespace accelab::cpu::detail
