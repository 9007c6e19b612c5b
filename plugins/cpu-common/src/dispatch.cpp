// Run-time choice of the float kernels (variant_choice.hpp); nothing runs at load time.
#include "variant_choice.hpp"
#include "variants.hpp"

namespace accelab::cpu {
namespace {

// Worst first.
constexpr Variant<KernelTable> kVariants[] = {
    {&detail::generic_kernels, "generic", &always},
#if ACCELAB_CPU_X86
    {&detail::avx2_kernels, "avx2", &has_avx2},
    {&detail::avx512_kernels, "avx512", &has_avx512},
#endif
};

}  // namespace

const KernelTable& best_kernels() {
  static const KernelTable* const table = choose_variant(kVariants);
  return *table;
}

const KernelTable* kernels_for(std::string_view isa) { return variant_named(kVariants, isa); }

std::vector<std::string> available_isas() { return runnable_variants(kVariants); }

}  // namespace accelab::cpu
