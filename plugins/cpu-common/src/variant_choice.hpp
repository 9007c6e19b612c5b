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

/// The best variant this CPU runs (variants listed worst first), or the best of the family (or
/// the variant) ACCELAB_CPU_ISA names when this CPU runs it: a request never raises the choice.
template <class Table, size_t N>
const Table* choose_variant(const Variant<Table> (&variants)[N]) {
  const Table* best = nullptr;
  const Table* requested = nullptr;
  const char* env = std::getenv("ACCELAB_CPU_ISA");
  for (const Variant<Table>& v : variants) {
    if (!v.runs_here()) continue;
    best = v.table;
    if (env && (std::string_view(env) == v.family || std::string_view(env) == v.table->isa))
      requested = v.table;
  }
  return requested ? requested : best;
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
