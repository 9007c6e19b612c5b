#include "stats/summary.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "stats/bootstrap.hpp"

namespace accelab::stats {
namespace {

// NaN breaks std::sort's strict weak ordering, so it is rejected rather than sorted.
std::vector<double> sorted_copy(std::span<const double> xs, const char* what) {
  if (xs.empty()) throw std::invalid_argument(std::string(what) + " of an empty sample");
  std::vector<double> v(xs.begin(), xs.end());
  if (std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); }))
    throw std::invalid_argument(std::string(what) + " of a sample containing NaN");
  std::sort(v.begin(), v.end());
  return v;
}

double percentile_of_sorted(const std::vector<double>& v, double p) {
  const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return v[lo] + frac * (v[hi] - v[lo]);
}

}  // namespace

double median(std::span<const double> xs) {
  return percentile(xs, 50.0);
}

double percentile(std::span<const double> xs, double p) {
  if (!(p >= 0.0 && p <= 100.0))
    throw std::invalid_argument("percentile must be in [0, 100], got " + std::to_string(p));
  return percentile_of_sorted(sorted_copy(xs, "percentile"), p);
}

double mean(std::span<const double> xs) {
  if (xs.empty()) throw std::invalid_argument("mean of an empty sample");
  return std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
}

double sample_stddev(std::span<const double> xs) {
  if (xs.size() < 2) return 0.0;
  const double m = mean(xs);
  double sum_sq = 0.0;
  for (double x : xs) sum_sq += (x - m) * (x - m);
  return std::sqrt(sum_sq / static_cast<double>(xs.size() - 1));
}

std::vector<double> modified_z_scores(std::span<const double> xs) {
  if (xs.empty()) return {};
  const double med = median(xs);
  std::vector<double> deviations;
  deviations.reserve(xs.size());
  for (double x : xs) deviations.push_back(std::abs(x - med));
  const double mad = median(deviations);
  double scale = 0.0;  // multiplies (x - median)
  if (mad > 0.0) {
    scale = 0.6745 / mad;
  } else {
    // More than half the samples equal the median: the MAD says nothing about the spread,
    // so fall back to the mean absolute deviation (scaled to match a normal's sigma).
    const double mean_ad = mean(deviations);
    if (mean_ad > 0.0) scale = 1.0 / (1.253314 * mean_ad);
  }
  std::vector<double> scores;
  scores.reserve(xs.size());
  for (double x : xs) scores.push_back(scale * (x - med));
  return scores;
}

std::vector<size_t> outlier_indices(std::span<const double> xs, double threshold) {
  const std::vector<double> scores = modified_z_scores(xs);
  std::vector<size_t> out;
  for (size_t i = 0; i < scores.size(); ++i)
    if (std::abs(scores[i]) > threshold) out.push_back(i);
  return out;
}

Summary summarize(std::span<const double> xs, uint64_t seed) {
  const std::vector<double> sorted = sorted_copy(xs, "summary");
  Summary s;
  s.n = xs.size();
  s.median = percentile_of_sorted(sorted, 50.0);
  s.mean = mean(xs);
  s.stddev = sample_stddev(xs);
  s.min = sorted.front();
  s.max = sorted.back();
  const Interval ci = bootstrap_median_ci(xs, seed);
  s.ci95_low = ci.low;
  s.ci95_high = ci.high;
  s.samples.assign(xs.begin(), xs.end());
  s.outliers = outlier_indices(xs);
  return s;
}

double relative_ci_half_width(const Summary& s) {
  if (s.n < 2 || s.median == 0.0) return std::numeric_limits<double>::infinity();
  return (s.ci95_high - s.ci95_low) / 2.0 / std::abs(s.median);
}

nlohmann::json to_json(const Summary& s) {
  return {{"median", s.median},
          {"mean", s.mean},
          {"stddev", s.stddev},
          {"min", s.min},
          {"max", s.max},
          {"ci95_low", s.ci95_low},
          {"ci95_high", s.ci95_high},
          {"samples", s.samples},
          {"outliers", s.outliers}};
}

}  // namespace accelab::stats
