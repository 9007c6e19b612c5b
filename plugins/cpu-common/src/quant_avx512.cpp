// The avx512-vnni quantized variant (compile flags in CMakeLists.txt): the decode kernel of
// quant_avx512.hpp for every row count.
#include "quant_avx512.hpp"
#include "quant_variants.hpp"

namespace accelab::cpu {
namespace {

// The codes, and a.qt_: the decode kernel reads them from it for every row count.
void quantize(const QuantMatrix& w, const float* x, int64_t ldx, int64_t rows, QuantActivations& out) {
  quantize_codes_avx512(w, x, ldx, rows, out);
  transpose_all_activations(out);
}

}  // namespace

namespace detail {
constinit const QuantKernels avx512_vnni_quant_kernels{"avx512-vnni", &quantize, &decode_avx512};
}  // namespace detail

}  // namespace accelab::cpu
