// Shared pieces of bench_kernels: per-ISA registration and page-touched buffers.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "accelab_cpu/huge_pages.hpp"
#include "accelab_cpu/kernels.hpp"

namespace accelab::cpu::bench {

/// 64-byte aligned bytes (in huge pages from 2 MiB on, as the weights that accelab loads are:
/// accelab_cpu/huge_pages.hpp) holding small random values, each 4-byte word valid at once as an f32,
/// as two f16 and as two bf16 (none zero, subnormal, inf or NaN), so no kernel meets a slow path.
class Buffer {
 public:
  explicit Buffer(size_t bytes);
  float* floats() { return reinterpret_cast<float*>(data_.get()); }
  const void* data() const { return data_.get(); }
  size_t bytes() const { return bytes_; }

 private:
  size_t bytes_;
  StreamBuffer data_;
};

/// The buffer named `key` of `bytes` bytes, created on first use and kept for the whole run (the
/// big ones take seconds to fill).
Buffer& shared_buffer(const std::string& key, size_t bytes);

/// Registers `fn` as "<name>/<isa>" for every ISA this CPU runs.
void register_per_isa(const std::string& name,
                      const std::function<void(benchmark::State&, const KernelTable&)>& fn);

void register_matrix_benchmarks();
void register_vector_benchmarks();
void register_peak_benchmarks();
void register_quant_benchmarks();
void register_decode_step_benchmarks();

}  // namespace accelab::cpu::bench
