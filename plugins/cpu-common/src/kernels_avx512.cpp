// The avx512 variant (compile flags in CMakeLists.txt).
// Eigen gets a namespace of its own in each variant: see gemm_eigen.hpp.
#define Eigen accelab_eigen_avx512

#include "simd_avx512.hpp"
#include "kernels_body.hpp"
#include "variants.hpp"

namespace accelab::cpu::detail {

constinit const KernelTable avx512_kernels = make_table("avx512");

}  // namespace accelab::cpu::detail
