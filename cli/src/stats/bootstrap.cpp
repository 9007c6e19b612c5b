#include "stats/bootstrap.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "stats/summary.hpp"

namespace accelab::stats {
namespace {

// Lemire's nearly divisionless method: uniform in [0, n) without modulo bias.
uint64_t uniform_index(std::mt19937_64& rng, uint64_t n) {
  unsigned __int128 product = static_cast<unsigned __int128>(rng()) * n;
  auto low = static_cast<uint64_t>(product);
  if (low < n) {
    const uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      product = static_cast<unsigned __int128>(rng()) * n;
      low = static_cast<uint64_t>(product);
    }
  }
  return static_cast<uint64_t>(product >> 64);
}

// Median of v, reordering it; nth_element keeps a resample at O(n) rather than O(n log n).
double median_in_place(std::vector<double>& v) {
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2.0;
}

}  // namespace

Interval bootstrap_median_ci(std::span<const double> xs, uint64_t seed, int resamples,
                             double level) {
  if (xs.empty()) throw std::invalid_argument("bootstrap of an empty sample");
  if (std::any_of(xs.begin(), xs.end(), [](double x) { return std::isnan(x); }))
    throw std::invalid_argument("bootstrap of a sample containing NaN");
  if (resamples < 1) throw std::invalid_argument("bootstrap needs at least one resample");
  if (!(level > 0.0 && level < 1.0))
    throw std::invalid_argument("bootstrap confidence level must be in (0, 1)");
  if (xs.size() == 1) return {xs[0], xs[0]};

  std::mt19937_64 rng(seed);
  std::vector<double> medians;
  medians.reserve(static_cast<size_t>(resamples));
  std::vector<double> resample(xs.size());
  for (int r = 0; r < resamples; ++r) {
    for (double& x : resample) x = xs[uniform_index(rng, xs.size())];
    medians.push_back(median_in_place(resample));
  }
  const double tail = (1.0 - level) / 2.0 * 100.0;
  return {percentile(medians, tail), percentile(medians, 100.0 - tail)};
}

Interval bootstrap_ratio_median_ci(std::span<const double> a, std::span<const double> b,
                                   uint64_t seed, int resamples, double level) {
  if (a.size() != b.size())
    throw std::invalid_argument("paired bootstrap of samples of different sizes");
  // The median of ratios depends on each pair only through its ratio, so resampling the
  // ratios is resampling the pairs jointly.
  std::vector<double> ratios(a.size());
  for (size_t i = 0; i < a.size(); ++i) ratios[i] = a[i] / b[i];
  return bootstrap_median_ci(ratios, seed, resamples, level);
}

}  // namespace accelab::stats
