// ISA discovery and selection.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "accelab_cpu/kernels.hpp"

namespace accelab::cpu {
namespace {

TEST(Dispatch, AvailableIsasAreRunnableAndOrdered) {
  const std::vector<std::string> isas = available_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), "generic");
  const std::vector<std::string> order{"generic", "avx2", "avx512"};
  size_t last = 0;
  for (const std::string& isa : isas) {
    const auto pos = std::find(order.begin(), order.end(), isa);
    ASSERT_NE(pos, order.end()) << isa;
    EXPECT_GE(static_cast<size_t>(pos - order.begin()), last);
    last = static_cast<size_t>(pos - order.begin());
    const KernelTable* t = kernels_for(isa);
    ASSERT_NE(t, nullptr) << isa;
    EXPECT_EQ(std::string(t->isa), isa);
  }
  EXPECT_EQ(kernels_for("bogus"), nullptr);
  EXPECT_EQ(kernels_for(""), nullptr);
}

#if defined(__x86_64__)
TEST(Dispatch, X86BuildsAllVariants) {
  // The build machine is the test machine: a CPU with AVX-512 must get every variant.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
    EXPECT_EQ(available_isas().size(), 3u);
  }
}
#endif

// Run by ctest once plainly and once per ACCELAB_CPU_ISA value (kernels.isa_override.*).
TEST(Dispatch, BestHonoursOverride) {
  const std::vector<std::string> isas = available_isas();
  std::string want = isas.back();
  if (const char* env = std::getenv("ACCELAB_CPU_ISA")) {
    // A float variant's name, or a quantized variant's (avx2-vnni: the avx2 family).
    const std::string e = env, level = e.substr(0, e.find('-'));
    if (std::find(isas.begin(), isas.end(), e) != isas.end()) want = e;
    else if (std::find(isas.begin(), isas.end(), level) != isas.end()) want = level;
  }
  EXPECT_EQ(std::string(best_kernels().isa), want);
  EXPECT_EQ(&best_kernels(), kernels_for(want));
}

}  // namespace
}  // namespace accelab::cpu
