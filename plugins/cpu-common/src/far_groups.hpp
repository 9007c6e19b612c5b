// Row order for the float kernels that stream weight rows (gemv.hpp).
#pragma once

#include <cstdint>

namespace accelab::cpu {
namespace {

constexpr int64_t kPrefetchBytes = 2048;

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
