#include <cstdlib>
#include <string_view>

#include "variants.hpp"

namespace accelab::cpu {
namespace {

struct Variant {
  const KernelTable* table;
  bool (*runs_here)();
};

bool always() { return true; }

#if ACCELAB_CPU_X86
// __builtin_cpu_supports also checks that the OS saves the vector state (XCR0).
bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
}

bool has_avx512() {
  return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}
#endif

// Worst first.
constexpr Variant kVariants[] = {
    {&detail::generic_kernels, &always},
#if ACCELAB_CPU_X86
    {&detail::avx2_kernels, &has_avx2},
    {&detail::avx512_kernels, &has_avx512},
#endif
};

const KernelTable* choose() {
  const KernelTable* best = nullptr;
  const KernelTable* requested = nullptr;
  const char* env = std::getenv("ACCELAB_CPU_ISA");
  for (const Variant& v : kVariants) {
    if (!v.runs_here()) continue;
    best = v.table;
    // A request takes effect only when it names an ISA at or below the best one found so far.
    if (env && std::string_view(env) == v.table->isa) requested = v.table;
  }
  return requested ? requested : best;
}

}  // namespace

const KernelTable& best_kernels() {
  static const KernelTable* const table = choose();
  return *table;
}

const KernelTable* kernels_for(std::string_view isa) {
  for (const Variant& v : kVariants)
    if (isa == v.table->isa && v.runs_here()) return v.table;
  return nullptr;
}

std::vector<std::string> available_isas() {
  std::vector<std::string> out;
  for (const Variant& v : kVariants)
    if (v.runs_here()) out.emplace_back(v.table->isa);
  return out;
}

}  // namespace accelab::cpu
