// The reference operations: plain loops in float32, in the same order of arithmetic as
// llama2.c's run.c, so that greedy generation reproduces its tokens exactly.
#pragma once

#include <cstdint>

namespace accelab::ref {

/// out[j] = w[j] * x[j] / sqrt(mean(x^2) + eps).
void rmsnorm(float* out, const float* x, const float* w, int32_t n, float eps);
/// out[o] = sum_i w[o * in + i] * x[i] for o < out_dim.
void matvec(float* out, const float* x, const float* w, int32_t in, int32_t out_dim);
/// Rotates pairs (2i, 2i+1) of every head of `vec` (width columns) at position `pos`.
void rope(float* vec, int32_t width, int32_t head_size, int32_t rope_dim, float theta, int32_t pos);
/// In-place softmax of x[0..n).
void softmax(float* x, int32_t n);
/// gate[i] = silu(gate[i]) * up[i].
void swiglu(float* out, const float* gate, const float* up, int32_t n);

}  // namespace accelab::ref
