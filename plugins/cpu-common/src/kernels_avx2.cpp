// The avx2 variant (compile flags in CMakeLists.txt).
// Eigen gets a namespace of its own in each variant: see gemm_eigen.hpp.
#define Eigen accelab_eigen_avx2

#include "simd_avx2.hpp"
#include "kernels_body.hpp"
#include "variants.hpp"

namespace accelab::cpu::detail {

constinit const KernelTable avx2_kernels = make_table("avx2");

}  // namespace accelab::cpu::detail
