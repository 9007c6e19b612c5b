// The CPU kernels shared by the cpu-eigen and cpu-tbb backends, compiled once per instruction
// set (generic x86-64, AVX2+FMA, AVX-512) and chosen at run time from what the CPU reports.
// Nothing here runs at load time: the choice is made on the first call of best_kernels().
//
// Conventions: weights are row-major [out, in] (one row per output), activations row-major
// [rows, width]; every function computes a block of outputs [o_begin, o_end) so callers can
// split work across threads by output rows.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace accelab::cpu {

/// Storage type of a weight matrix the matrix kernels read (activations are always f32).
enum class WeightType { f32, f16, bf16 };

struct KernelTable {
  const char* isa;  ///< "avx512", "avx2" or "generic"

  /// y[o] = sum_i w[o * in + i] * x[i] for o in [o_begin, o_end). w of type `type`.
  void (*gemv)(WeightType type, const void* w, const float* x, float* y, int64_t in,
               int64_t o_begin, int64_t o_end);

  /// y[r * ldy + o] = sum_i x[r * ldx + i] * w[o * in + i] for r < rows, o in [o_begin, o_end):
  /// Y = X W^T on a block of output columns. Reads each weight row once for small `rows`
  /// (decode of a batch); large `rows` (prefill) use a blocked GEMM.
  void (*gemm)(WeightType type, const void* w, const float* x, int64_t ldx, float* y,
               int64_t ldy, int64_t rows, int64_t in, int64_t o_begin, int64_t o_end);

  /// sum_i a[i] * b[i].
  float (*dot)(const float* a, const float* b, int64_t n);
  /// y[i] += a * x[i].
  void (*axpy)(float a, const float* x, float* y, int64_t n);
  /// out[i] = w[i] * x[i] / sqrt(mean(x^2) + eps). out may equal x.
  void (*rmsnorm)(float* out, const float* x, const float* w, int64_t n, float eps);
  /// In-place softmax of x[0..n).
  void (*softmax)(float* x, int64_t n);
  /// Rotates the pairs (2i, 2i+1), 2i < rope_dim, of every head of v[0..width) by the angles
  /// whose cosines and sines are cos_sin[2i] and cos_sin[2i + 1] (i < rope_dim / 2).
  void (*rope)(float* v, int64_t width, int64_t head_size, int64_t rope_dim, const float* cos_sin);
  /// out[i] = silu(gate[i]) * up[i]. out may equal gate.
  void (*swiglu)(float* out, const float* gate, const float* up, int64_t n);
  /// out[i] = a[i] + b[i]. out may equal a.
  void (*add)(float* out, const float* a, const float* b, int64_t n);
  /// Sum of x[0..n): reads memory as fast as the ISA allows (the bandwidth probe).
  float (*read_sum)(const float* x, int64_t n);
  /// y[r * ldy + j] = sum_t x[r * ldx + t] * w[t * ldw + j] for r < rows, j < cols: Y = X W
  /// with W stored by rows of `cols`, each row of W loaded once per 8 rows of X (attention's
  /// weighted sum of cached values, for all the query heads that share them).
  void (*gemm_nn)(const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy,
                  int64_t rows, int64_t inner, int64_t cols);
  /// s[r * lds + t] = sum_d q[r * ldq + d] * key_t[d] for r < rows, t < positions: attention's
  /// scores, the keys stored in tiles (key_tile_offset), each tile read once per 8 query rows
  /// (fewer on AVX2 and generic). Also prefetches the `next_bytes` from `next` (may be null),
  /// one cache line per key element the first pass over the keys steps through: the values the
  /// caller reads next, which then arrive while the scores are computed.
  void (*key_scores)(const float* q, int64_t ldq, int64_t rows, const float* keys, int64_t head_size,
                     int64_t positions, float* s, int64_t lds, const float* next, int64_t next_bytes);
};

/// Positions per tile of a key cache that key_scores reads: a tile holds element d of its
/// positions' keys side by side (one 64-byte line), so the scores of 16 positions are one vector
/// of multiply-adds per element, with no horizontal sums.
constexpr int64_t kKeyTile = 16;

/// Where element d of key t lies in a tiled key cache of keys of `head_size` elements.
constexpr int64_t key_tile_offset(int64_t t, int64_t d, int64_t head_size) {
  return (t / kKeyTile) * head_size * kKeyTile + d * kKeyTile + t % kKeyTile;
}

/// The fastest table this CPU supports (decided once, on the first call; thread-safe).
/// ACCELAB_CPU_ISA=generic|avx2|avx512 forces a lower one (never a higher one).
const KernelTable& best_kernels();

/// The table for `isa`, or nullptr when this CPU cannot run it (or it was not built).
const KernelTable* kernels_for(std::string_view isa);

/// The ISAs built into this library that this CPU can run, best last.
std::vector<std::string> available_isas();

/// IEEE half and bfloat16 conversions (scalar; for packing and tests).
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);  ///< round to nearest even
float bf16_to_f32(uint16_t b);

}  // namespace accelab::cpu
