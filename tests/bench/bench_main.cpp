#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace accelab::cpu::bench {

Buffer::Buffer(size_t bytes)
    : bytes_(bytes),
      data_(stream_buffer(bytes)) {
  // A 64 KiB random pattern, repeated: filling a gigabyte must not take longer than measuring it.
  constexpr size_t kWords = 16384;
  std::vector<uint32_t> pattern(kWords);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(0.25f, 1.0f);
  for (uint32_t& word : pattern) {
    const float f = rng() % 2 ? dist(rng) : -dist(rng);
    // The low half, f16(f); the high half, bf16(f): the word is also close to f as an f32.
    const uint16_t as_f16 = f32_to_f16(f), as_bf16 = f32_to_bf16(f);
    word = (static_cast<uint32_t>(as_bf16) << 16) | as_f16;
  }
  for (size_t at = 0; at < bytes; at += sizeof(uint32_t) * kWords)
    std::memcpy(data_.get() + at, pattern.data(), std::min(bytes - at, sizeof(uint32_t) * kWords));
}

Buffer& shared_buffer(const std::string& key, size_t bytes) {
  static std::map<std::string, std::unique_ptr<Buffer>> buffers;
  auto& b = buffers[key + "/" + std::to_string(bytes)];
  if (!b) b = std::make_unique<Buffer>(bytes);
  return *b;
}

void register_per_isa(const std::string& name,
                      const std::function<void(benchmark::State&, const KernelTable&)>& fn) {
  for (const std::string& isa : available_isas()) {
    const KernelTable* k = kernels_for(isa);
    benchmark::RegisterBenchmark((name + "/" + isa).c_str(),
                                 [fn, k](benchmark::State& s) { fn(s, *k); });
  }
}

}  // namespace accelab::cpu::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  accelab::cpu::bench::register_matrix_benchmarks();
  accelab::cpu::bench::register_vector_benchmarks();
  accelab::cpu::bench::register_peak_benchmarks();
  accelab::cpu::bench::register_quant_benchmarks();
  accelab::cpu::bench::register_decode_step_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
