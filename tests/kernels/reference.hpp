// Test helpers: random data, weight matrices stored as f32/f16/bf16 at deliberately unaligned
// addresses, and the tolerance check shared by the kernel tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "accelab_cpu/kernels.hpp"

namespace accelab::cpu::test {

/// n floats 4 bytes past a 64-byte boundary (so never vector-aligned), ending exactly where
/// their allocation ends, so that AddressSanitizer catches any read past the end.
class Floats {
 public:
  explicit Floats(int64_t n, float fill = 0.0f)
      : base_(static_cast<float*>(::operator new(bytes(n), std::align_val_t{64}))), n_(n) {
    std::fill(data(), data() + n, fill);
  }
  Floats(Floats&& o) noexcept : base_(std::exchange(o.base_, nullptr)), n_(o.n_) {}
  Floats(const Floats&) = delete;
  Floats& operator=(const Floats&) = delete;
  Floats& operator=(Floats&&) = delete;
  ~Floats() {
    if (base_) ::operator delete(base_, bytes(n_), std::align_val_t{64});
  }
  Floats copy() const {
    Floats c(n_);
    std::copy(data(), data() + n_, c.data());
    return c;
  }
  float* data() { return base_ + 1; }
  const float* data() const { return base_ + 1; }
  float& operator[](int64_t i) { return data()[i]; }
  float operator[](int64_t i) const { return data()[i]; }
  int64_t size() const { return n_; }

 private:
  static size_t bytes(int64_t n) { return static_cast<size_t>(n + 1) * sizeof(float); }
  float* base_;
  int64_t n_;
};

inline Floats random_floats(int64_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  Floats v(n);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < n; ++i) v[i] = dist(rng);
  return v;
}

/// A row-major [out, in] weight matrix in `type`, and the exact f32 value of each element.
struct Weights {
  WeightType type;
  int64_t in, out;
  std::vector<unsigned char> bytes;  // the stored matrix begins at bytes.data() + misalign
  std::vector<float> values;

  const void* data() const { return bytes.data() + misalign(); }
  float at(int64_t o, int64_t i) const { return values[static_cast<size_t>(o * in + i)]; }
  size_t misalign() const { return type == WeightType::f32 ? 4 : 2; }
};

inline size_t weight_size(WeightType t) { return t == WeightType::f32 ? 4 : 2; }

inline const char* type_name(WeightType t) {
  return t == WeightType::f32 ? "f32" : t == WeightType::f16 ? "f16" : "bf16";
}

inline Weights random_weights(WeightType type, int64_t out, int64_t in, std::mt19937& rng) {
  Weights w{type, in, out, {}, {}};
  const size_t n = static_cast<size_t>(out * in);
  w.bytes.resize(n * weight_size(type) + w.misalign());  // ends where the matrix ends
  w.values.resize(n);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  unsigned char* p = w.bytes.data() + w.misalign();
  for (size_t i = 0; i < n; ++i) {
    const float f = dist(rng);
    if (type == WeightType::f32) {
      w.values[i] = f;
      std::memcpy(p + 4 * i, &f, 4);
    } else {
      const uint16_t h = type == WeightType::f16 ? f32_to_f16(f) : f32_to_bf16(f);
      w.values[i] = type == WeightType::f16 ? f16_to_f32(h) : bf16_to_f32(h);
      std::memcpy(p + 2 * i, &h, 2);
    }
  }
  return w;
}

/// |got - want| <= rel * scale + abs, where scale is the magnitude the result was summed from.
inline ::testing::AssertionResult close(double got, double want, double scale, double rel,
                                        double abs = 1e-30) {
  if (std::fabs(got - want) <= rel * scale + abs) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << got << ", want " << want << " (error "
                                       << std::fabs(got - want) << ", allowed "
                                       << rel * scale + abs << ")";
}

/// The tables under test: one per ISA this CPU runs.
inline std::string isa_param_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

inline const KernelTable& table(const std::string& isa) {
  const KernelTable* t = kernels_for(isa);
  if (!t) throw std::runtime_error("no kernels for " + isa);
  return *t;
}

}  // namespace accelab::cpu::test
