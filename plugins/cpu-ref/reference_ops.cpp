#include "reference_ops.hpp"

#include <cmath>

namespace accelab::ref {

void rmsnorm(float* out, const float* x, const float* w, int32_t n, float eps) {
  float ss = 0.0f;
  for (int32_t j = 0; j < n; ++j) ss += x[j] * x[j];
  ss /= static_cast<float>(n);
  ss += eps;
  ss = 1.0f / std::sqrt(ss);
  for (int32_t j = 0; j < n; ++j) out[j] = w[j] * (ss * x[j]);
}

void matvec(float* out, const float* x, const float* w, int32_t in, int32_t out_dim) {
  for (int32_t o = 0; o < out_dim; ++o) {
    const float* row = w + static_cast<int64_t>(o) * in;
    float val = 0.0f;
    for (int32_t i = 0; i < in; ++i) val += row[i] * x[i];
    out[o] = val;
  }
}

void rope(float* vec, int32_t width, int32_t head_size, int32_t rope_dim, float theta,
          int32_t pos) {
  for (int32_t i = 0; i < width; i += 2) {
    int32_t head_dim = i % head_size;
    if (head_dim >= rope_dim) continue;
    float freq = 1.0f / std::pow(theta, static_cast<float>(head_dim) / static_cast<float>(head_size));
    float val = static_cast<float>(pos) * freq;
    float fcr = std::cos(val);
    float fci = std::sin(val);
    float v0 = vec[i];
    float v1 = vec[i + 1];
    vec[i] = v0 * fcr - v1 * fci;
    vec[i + 1] = v0 * fci + v1 * fcr;
  }
}

void softmax(float* x, int32_t n) {
  float max_val = x[0];
  for (int32_t i = 1; i < n; ++i)
    if (x[i] > max_val) max_val = x[i];
  float sum = 0.0f;
  for (int32_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_val);
    sum += x[i];
  }
  for (int32_t i = 0; i < n; ++i) x[i] /= sum;
}

void swiglu(float* out, const float* gate, const float* up, int32_t n) {
  for (int32_t i = 0; i < n; ++i) {
    float val = gate[i];
    val *= (1.0f / (1.0f + std::exp(-val)));
    val *= up[i];
    out[i] = val;
  }
}

}  // namespace accelab::ref
