// Row order for kernels that stream weight rows (gemv.hpp, the quantized decode kernels).
#pragma once

#include <cstdint>

namespace accelab::cpu {
namespace {

constexpr int64_t kPrefetchBytes = 2048;
// The quantized decode kernels also ask for the lines this far ahead to be brought into L2 (not
// L1): with the 2 KiB L1 prefetch alone q8 streamed a median 79% of f32's bytes/s from DRAM, with
// this 90% (plugins/cpu-common/README.md, "Decode"). Prefetches past the end of the weights are
// harmless: they do not fault.
constexpr int64_t kFarPrefetchBytes = 12288;

// group(o) for arrays o[G] of rows taken in step from G contiguous parts of [begin, end), then
// one(o) for each leftover row.
template <int G, typename Group, typename One>
void far_groups(int64_t begin, int64_t end, Group group, One one) {
  const int64_t part = (end - begin) / G;
  for (int64_t s = 0; s < part; ++s) {
    int64_t o[G];
    for (int g = 0; g < G; ++g) o[g] = begin + g * part + s;
    group(o);
  }
  for (int64_t o = begin + G * part; o < end; ++o) one(o);
}

}  // namespace
}  // namespace accelab::cpu
