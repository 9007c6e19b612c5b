// Percentile-bootstrap confidence intervals of the median. Resampling uses std::mt19937_64 and
// its own unbiased index generation (not std::uniform_int_distribution, whose output differs
// between standard libraries), so a seed gives the same interval everywhere.
#pragma once

#include <cstdint>
#include <span>

namespace accelab::stats {

/// A closed interval [low, high].
struct Interval {
  double low, high;
};

/// Percentile bootstrap CI of the median of `xs`: `resamples` resamples with replacement drawn
/// with std::mt19937_64 seeded by `seed`, at confidence `level` in (0, 1). n == 1 gives [x, x].
/// Throws std::invalid_argument when xs is empty or contains NaN, resamples < 1 or level is
/// outside (0, 1).
Interval bootstrap_median_ci(std::span<const double> xs, uint64_t seed, int resamples = 2000,
                             double level = 0.95);

/// Bootstrap CI of the median of the paired ratios a[i] / b[i] (the speed-up of one pipeline
/// over the baseline per repetition pair), resampling pairs jointly. Throws
/// std::invalid_argument when the sizes differ, plus whatever bootstrap_median_ci throws
/// (0 / 0 makes a NaN ratio).
Interval bootstrap_ratio_median_ci(std::span<const double> a, std::span<const double> b,
                                   uint64_t seed, int resamples = 2000, double level = 0.95);

}  // namespace accelab::stats
