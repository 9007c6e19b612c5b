// The quantized kernel tables the variant translation units define; quant_dispatch.cpp chooses.
#pragma once

#include "accelab_cpu/quant.hpp"

namespace accelab::cpu::detail {

extern const QuantKernels generic_quant_kernels;
#if ACCELAB_CPU_X86
extern const QuantKernels avx2_quant_kernels;
extern const QuantKernels avx2_vnni_quant_kernels;
extern const QuantKernels avx512_vnni_quant_kernels;
extern const QuantKernels avx512_amx_quant_kernels;
#endif

}  // namespace accelab::cpu::detail
