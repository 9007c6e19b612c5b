// What the two run-time dispatchers (dispatch.cpp for the float kernels, quant_dispatch.cpp for
// the quantized ones) share: the CPU feature checks and the choice among variants. Baseline code:
// included only by translation units compiled without -m flags.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace accelab::cpu {
namespace {

/// A kernel table and when it may run. `family` is the ACCELAB_CPU_ISA value that caps the
/// choice at this variant (its own isa name also does).
template <class Table>
struct Variant {
  const Table* table;
  const char* family;
  bool (*runs_here)();
};

inline bool always() { return true; }

#if ACCELAB_CPU_X86
// __builtin_cpu_supports also checks that the OS saves the vector state (XCR0).
inline bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
}

inline bool has_avx512() {
  return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}
#endif

/// Whether `request` names `family` or a variant of it (`avx2-vnni` names the avx2 family, so
/// the float kernels, which have no such variant, run at the level the quantized ones do).
inline bool names_family(std::string_view request, std::string_view family) {
  return request == family || (request.starts_with(family) && request.size() > family.size() &&
                               request[family.size()] == '-');
}

/// The best variant this CPU runs (variants listed worst first), or what ACCELAB_CPU_ISA names
/// when this CPU runs it: the variant of that isa name, else the best of that family (`avx2`
/// names the plain avx2 variant, not avx2-vnni; `avx512` the best AVX-512 one). A request never
/// raises the choice.
template <class Table, size_t N>
const Table* choose_variant(const Variant<Table> (&variants)[N]) {
  const Table* best = nullptr;
  const Table* exact = nullptr;
  const Table* in_family = nullptr;
  const char* env = std::getenv("ACCELAB_CPU_ISA");
  for (const Variant<Table>& v : variants) {
    if (!v.runs_here()) continue;
    best = v.table;
    if (env && std::string_view(env) == v.table->isa) exact = v.table;
    if (env && names_family(env, v.family)) in_family = v.table;
  }
  return exact ? exact : in_family ? in_family : best;
}

/// The variant named `isa`, or nullptr when this CPU cannot run it (or it was not built).
template <class Table, size_t N>
const Table* variant_named(const Variant<Table> (&variants)[N], std::string_view isa) {
  for (const Variant<Table>& v : variants)
    if (isa == v.table->isa && v.runs_here()) return v.table;
  return nullptr;
}

/// The isa names of the variants this CPU runs, worst first.
template <class Table, size_t N>
std::vector<std::string> runnable_variants(const Variant<Table> (&variants)[N]) {
  std::vector<std::string> out;
  for (const Variant<Table>& v : variants)
    if (v.runs_here()) out.emplace_back(v.table->isa);
  return out;
}

}  // namespace
}  // namespace accelab::cpu
