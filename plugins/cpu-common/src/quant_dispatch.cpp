// Run-time choice of the quantized kernels, like dispatch.cpp's for the float ones. AMX also
// needs the kernel's permission to use the tile state (Linux arch_prctl), asked for here on the
// first query and never at load time.
#include "quant_variants.hpp"
#include "variant_choice.hpp"

#if ACCELAB_CPU_X86
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace accelab::cpu {
namespace {

#if ACCELAB_CPU_X86
bool has_avx2_vnni() { return has_avx2() && __builtin_cpu_supports("avxvnni"); }

bool has_avx512_vnni() { return has_avx512() && __builtin_cpu_supports("avx512vnni"); }

bool amx_permitted() {
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

bool has_amx() {
  if (!has_avx512_vnni() || !__builtin_cpu_supports("avx512bf16") ||
      !__builtin_cpu_supports("amx-tile") || !__builtin_cpu_supports("amx-bf16"))
    return false;
  static const bool permitted = amx_permitted();
  return permitted;
}
#endif

// Worst first.
constexpr Variant<QuantKernels> kVariants[] = {
    {&detail::generic_quant_kernels, "generic", &always},
#if ACCELAB_CPU_X86
    {&detail::avx2_quant_kernels, "avx2", &has_avx2},
    {&detail::avx2_vnni_quant_kernels, "avx2", &has_avx2_vnni},
    {&detail::avx512_vnni_quant_kernels, "avx512", &has_avx512_vnni},
    {&detail::avx512_amx_quant_kernels, "avx512", &has_amx},
#endif
};

}  // namespace

const QuantKernels& best_quant_kernels() {
  static const QuantKernels* const table = choose_variant(kVariants);
  return *table;
}

const QuantKernels* quant_kernels_for(std::string_view isa) { return variant_named(kVariants, isa); }

std::vector<std::string> available_quant_isas() { return runnable_variants(kVariants); }

}  // namespace accelab::cpu
