// The avx512-vnni quantized variant (compile flags in CMakeLists.txt): the decode kernel of
// quant_avx512.hpp for every row count.
#include "quant_avx512.hpp"
#include "quant_variants.hpp"

namespace accelab::cpu::detail {

constinit const QuantKernels avx512_vnni_quant_kernels{"avx512-vnni", &quantize_avx512,
                                                       &decode_avx512};

}  // namespace accelab::cpu::detail
