// Descriptive statistics of one metric over repetitions, modelled on Google Benchmark's
// aggregates plus hyperfine-style outlier detection (modified z-scores). All functions are
// pure and deterministic; inputs must not contain NaN (they throw std::invalid_argument).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

namespace accelab::stats {

/// Summary of one metric over repetitions.
struct Summary {
  size_t n = 0;
  double median = 0, mean = 0;
  double stddev = 0;  ///< sample standard deviation (n - 1); 0 when n < 2
  double min = 0, max = 0;
  double ci95_low = 0, ci95_high = 0;  ///< 95% bootstrap confidence interval of the median
  std::vector<double> samples;         ///< as given, in order
  std::vector<size_t> outliers;        ///< indices of samples with |modified z-score| > 3.5
};

/// Median; the average of the middle two for even n. Throws std::invalid_argument when empty.
double median(std::span<const double> xs);

/// The p-th percentile, p in [0, 100], interpolating linearly between the closest ranks
/// (numpy's default 'linear' method). Throws std::invalid_argument when empty or p is out of range.
double percentile(std::span<const double> xs, double p);

/// Arithmetic mean. Throws std::invalid_argument when empty.
double mean(std::span<const double> xs);

/// Sample standard deviation (divides by n - 1); 0 when n < 2.
double sample_stddev(std::span<const double> xs);

/// Modified z-scores (Iglewicz & Hoaglin): 0.6745 * (x - median) / MAD. When MAD is 0 the
/// mean absolute deviation from the median, scaled by 1.253314, replaces 0.6745 / MAD; when
/// that is 0 too every score is 0. Empty input gives an empty result.
std::vector<double> modified_z_scores(std::span<const double> xs);

/// Indices, ascending, of samples whose |modified z-score| exceeds `threshold`.
std::vector<size_t> outlier_indices(std::span<const double> xs, double threshold = 3.5);

/// Fills every Summary field; the CI is bootstrap_median_ci(xs, seed) with its defaults.
/// Throws std::invalid_argument when empty.
Summary summarize(std::span<const double> xs, uint64_t seed);

/// Relative half-width of the CI, (ci95_high - ci95_low) / 2 / |median|; infinity when the
/// median is 0 or n < 2.
double relative_ci_half_width(const Summary& s);

/// {"median","mean","stddev","min","max","ci95_low","ci95_high","samples":[...],"outliers":[...]}
nlohmann::json to_json(const Summary& s);

}  // namespace accelab::stats
