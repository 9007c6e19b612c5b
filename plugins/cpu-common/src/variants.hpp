// The kernel tables the variant translation units define; dispatch.cpp chooses among them.
#pragma once

#include "accelab_cpu/kernels.hpp"

namespace accelab::cpu::detail {

extern const KernelTable generic_kernels;
#if ACCELAB_CPU_X86
extern const KernelTable avx2_kernels;
extern const KernelTable avx512_kernels;
#endif

}  // namespace accelab::cpu::detail
