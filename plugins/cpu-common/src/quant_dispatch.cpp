// Run-time choice of the quantized kernels, like dispatch.cpp's for the float ones. AMX also
// needs the kernel's permission to use the tile state (Linux arch_prctl), asked for here on the
// first query and never at load time.
#include <cstdlib>
#include <string_view>

#include "quant_variants.hpp"

#if ACCELAB_CPU_X86
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace accelab::cpu {
namespace {

struct Variant {
  const QuantKernels* table;
  const char* family;  ///< the ACCELAB_CPU_ISA value that caps the choice at this variant
  bool (*runs_here)();
};

bool always() { return true; }

#if ACCELAB_CPU_X86
bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
}

bool has_avx512_vnni() {
  return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vnni");
}

bool amx_permitted() {
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

bool has_amx() {
  if (!has_avx512_vnni() || !__builtin_cpu_supports("amx-tile") ||
      !__builtin_cpu_supports("amx-int8"))
    return false;
  static const bool permitted = amx_permitted();
  return permitted;
}
#endif

// Worst first.
constexpr Variant kVariants[] = {
    {&detail::generic_quant_kernels, "generic", &always},
#if ACCELAB_CPU_X86
    {&detail::avx2_quant_kernels, "avx2", &has_avx2},
    {&detail::avx512_vnni_quant_kernels, "avx512", &has_avx512_vnni},
    {&detail::avx512_amx_quant_kernels, "avx512", &has_amx},
#endif
};

const QuantKernels* choose() {
  const QuantKernels* best = nullptr;
  const QuantKernels* requested = nullptr;
  const char* env = std::getenv("ACCELAB_CPU_ISA");
  for (const Variant& v : kVariants) {
    if (!v.runs_here()) continue;
    best = v.table;
    // The best variant of the named family (or the one named exactly), if this CPU runs it.
    if (env && (std::string_view(env) == v.family || std::string_view(env) == v.table->isa))
      requested = v.table;
  }
  return requested ? requested : best;
}

}  // namespace

const QuantKernels& best_quant_kernels() {
  static const QuantKernels* const table = choose();
  return *table;
}

const QuantKernels* quant_kernels_for(std::string_view isa) {
  for (const Variant& v : kVariants)
    if (isa == v.table->isa && v.runs_here()) return v.table;
  return nullptr;
}

std::vector<std::string> available_quant_isas() {
  std::vector<std::string> out;
  for (const Variant& v : kVariants)
    if (v.runs_here()) out.emplace_back(v.table->isa);
  return out;
}

}  // namespace accelab::cpu
