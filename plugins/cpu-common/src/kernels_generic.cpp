// The generic variant (compile flags in CMakeLists.txt).
// Eigen gets a namespace of its own in each variant: see gemm_eigen.hpp.
#define Eigen accelab_eigen_generic

#include "simd_generic.hpp"
#include "kernels_body.hpp"
#include "variants.hpp"

namespace accelab::cpu::detail {

constinit const KernelTable generic_kernels = make_table("generic");

}  // namespace accelab::cpu::detail
