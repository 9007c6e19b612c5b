// Statistics of the measurement loop: hand-computed values (numpy's 'linear' percentiles),
// outlier detection and the bootstrap CI's determinism, width and coverage.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "stats/bootstrap.hpp"
#include "stats/summary.hpp"

namespace accelab::stats {
namespace {

// Test data comes from a fixed generator so the tests never depend on the standard library's
// distributions, whose output is implementation-defined.
class Draws {
 public:
  explicit Draws(uint64_t seed) : rng_(seed) {}
  double uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  double exponential() { return -std::log1p(-uniform()); }  // rate 1: median ln 2
  double normalish() {  // Irwin-Hall: sum of 12 uniforms, mean 0, variance 1
    double s = -6.0;
    for (int i = 0; i < 12; ++i) s += uniform();
    return s;
  }

 private:
  std::mt19937_64 rng_;
};

std::vector<double> normal_sample(size_t n, uint64_t seed) {
  Draws d(seed);
  std::vector<double> v(n);
  for (double& x : v) x = 100.0 + 5.0 * d.normalish();
  return v;
}

TEST(StatMedian, OddEvenSingleUnsorted) {
  EXPECT_DOUBLE_EQ(median(std::vector<double>{3, 1, 2}), 2.0);
  EXPECT_DOUBLE_EQ(median(std::vector<double>{4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(median(std::vector<double>{7.5}), 7.5);
  EXPECT_DOUBLE_EQ(median(std::vector<double>{9, -1, 5, 0, 100}), 5.0);
  EXPECT_THROW(median(std::vector<double>{}), std::invalid_argument);
  EXPECT_THROW(median(std::vector<double>{1, NAN}), std::invalid_argument);
}

TEST(StatPercentile, MatchesNumpyLinear) {
  const std::vector<double> xs{4, 1, 3, 2};  // np.percentile([1,2,3,4], p)
  EXPECT_DOUBLE_EQ(percentile(xs, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile(xs, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile(xs, 90), 3.7);
  EXPECT_DOUBLE_EQ(percentile(xs, 99), 3.97);
  EXPECT_DOUBLE_EQ(percentile(xs, 100), 4.0);
  const std::vector<double> ys{15, 20, 35, 40, 50};  // np.percentile(ys, [25, 40, 75])
  EXPECT_DOUBLE_EQ(percentile(ys, 25), 20.0);
  EXPECT_DOUBLE_EQ(percentile(ys, 40), 29.0);
  EXPECT_DOUBLE_EQ(percentile(ys, 75), 40.0);
  EXPECT_DOUBLE_EQ(percentile(std::vector<double>{42}, 99), 42.0);
}

TEST(StatPercentile, RejectsEmptyAndBadP) {
  const std::vector<double> xs{1, 2};
  EXPECT_THROW(percentile(std::vector<double>{}, 50), std::invalid_argument);
  EXPECT_THROW(percentile(xs, -0.1), std::invalid_argument);
  EXPECT_THROW(percentile(xs, 100.1), std::invalid_argument);
  EXPECT_THROW(percentile(xs, NAN), std::invalid_argument);
}

TEST(StatMoments, MeanAndSampleStddev) {
  const std::vector<double> xs{2, 4, 4, 4, 5, 5, 7, 9};
  EXPECT_DOUBLE_EQ(mean(xs), 5.0);
  EXPECT_NEAR(sample_stddev(xs), std::sqrt(32.0 / 7.0), 1e-12);
  EXPECT_DOUBLE_EQ(sample_stddev(std::vector<double>{3}), 0.0);
  EXPECT_DOUBLE_EQ(sample_stddev(std::vector<double>{}), 0.0);
  EXPECT_THROW(mean(std::vector<double>{}), std::invalid_argument);
}

TEST(StatOutliers, ModifiedZScoresFlagOnlyTheOutlier) {
  const std::vector<double> xs{10, 10.1, 9.9, 10.05, 9.95, 30};
  // median 10.025, MAD 0.075
  const std::vector<double> z = modified_z_scores(xs);
  ASSERT_EQ(z.size(), xs.size());
  EXPECT_NEAR(z[1], 0.6745 * 0.075 / 0.075, 1e-9);
  EXPECT_NEAR(z[2], 0.6745 * -0.125 / 0.075, 1e-9);
  EXPECT_NEAR(z[5], 0.6745 * 19.975 / 0.075, 1e-6);
  EXPECT_EQ(outlier_indices(xs), (std::vector<size_t>{5}));
}

TEST(StatOutliers, MeanAbsoluteDeviationFallbackWhenMadIsZero) {
  const std::vector<double> xs{5, 5, 5, 5, 9};  // MAD 0, mean absolute deviation 0.8
  const std::vector<double> z = modified_z_scores(xs);
  EXPECT_NEAR(z[4], 4.0 / (1.253314 * 0.8), 1e-9);
  EXPECT_DOUBLE_EQ(z[0], 0.0);
  EXPECT_EQ(outlier_indices(xs), (std::vector<size_t>{4}));
}

TEST(StatOutliers, AllEqualAndEmptyFlagNothing) {
  const std::vector<double> xs{2, 2, 2, 2};
  EXPECT_EQ(modified_z_scores(xs), (std::vector<double>{0, 0, 0, 0}));
  EXPECT_TRUE(outlier_indices(xs).empty());
  EXPECT_TRUE(modified_z_scores(std::vector<double>{}).empty());
  EXPECT_TRUE(outlier_indices(std::vector<double>{}).empty());
}

TEST(StatBootstrap, DeterministicPerSeed) {
  const std::vector<double> xs = normal_sample(50, 7);
  const Interval a = bootstrap_median_ci(xs, 1);
  const Interval b = bootstrap_median_ci(xs, 1);
  EXPECT_EQ(a.low, b.low);
  EXPECT_EQ(a.high, b.high);
  const Interval c = bootstrap_median_ci(xs, 2);
  EXPECT_TRUE(a.low != c.low || a.high != c.high);
}

TEST(StatBootstrap, ContainsTheMedianAndNarrowsWithN) {
  const std::vector<double> big = normal_sample(200, 11);
  const std::vector<double> small(big.begin(), big.begin() + 10);
  const Interval ci_small = bootstrap_median_ci(small, 3);
  const Interval ci_big = bootstrap_median_ci(big, 3);
  EXPECT_LE(ci_small.low, median(small));
  EXPECT_GE(ci_small.high, median(small));
  EXPECT_LE(ci_big.low, median(big));
  EXPECT_GE(ci_big.high, median(big));
  EXPECT_LT(ci_big.high - ci_big.low, (ci_small.high - ci_small.low) / 2);
}

TEST(StatBootstrap, CoversTheTrueMedianAboutNinetyFivePercent) {
  const double true_median = std::log(2.0);
  Draws d(2024);
  int covered = 0;
  const int trials = 200;
  for (int t = 0; t < trials; ++t) {
    std::vector<double> xs(30);
    for (double& x : xs) x = d.exponential();
    // 1000 resamples keep 200 trials fast; the interval's endpoints are stable well before that.
    const Interval ci = bootstrap_median_ci(xs, static_cast<uint64_t>(t), 1000);
    if (ci.low <= true_median && true_median <= ci.high) ++covered;
  }
  RecordProperty("covered", covered);
  EXPECT_GE(covered, trials * 85 / 100);
  EXPECT_LE(covered, trials * 99 / 100);
}

TEST(StatBootstrap, EdgeCases) {
  const Interval one = bootstrap_median_ci(std::vector<double>{4.2}, 9);
  EXPECT_EQ(one.low, 4.2);
  EXPECT_EQ(one.high, 4.2);
  const std::vector<double> xs{1, 2, 3};
  EXPECT_THROW(bootstrap_median_ci(std::vector<double>{}, 1), std::invalid_argument);
  EXPECT_THROW(bootstrap_median_ci(xs, 1, 0), std::invalid_argument);
  EXPECT_THROW(bootstrap_median_ci(xs, 1, 100, 1.0), std::invalid_argument);
  const Interval flat = bootstrap_median_ci(std::vector<double>{3, 3, 3}, 1);
  EXPECT_EQ(flat.low, 3.0);
  EXPECT_EQ(flat.high, 3.0);
}

TEST(StatBootstrap, PairedRatios) {
  const std::vector<double> base = normal_sample(40, 5);
  std::vector<double> twice(base);
  for (double& x : twice) x *= 2;
  const Interval exact = bootstrap_ratio_median_ci(twice, base, 1);
  EXPECT_DOUBLE_EQ(exact.low, 2.0);
  EXPECT_DOUBLE_EQ(exact.high, 2.0);

  const std::vector<double> other = normal_sample(40, 6);
  std::vector<double> ratios(base.size());
  for (size_t i = 0; i < base.size(); ++i) ratios[i] = other[i] / base[i];
  const Interval r = bootstrap_ratio_median_ci(other, base, 4);
  const Interval direct = bootstrap_median_ci(ratios, 4);
  EXPECT_EQ(r.low, direct.low);
  EXPECT_EQ(r.high, direct.high);
  EXPECT_LE(r.low, median(ratios));
  EXPECT_GE(r.high, median(ratios));
  EXPECT_THROW(bootstrap_ratio_median_ci(base, std::vector<double>{1}, 1), std::invalid_argument);
}

TEST(StatSummary, FieldsAreConsistent) {
  const std::vector<double> xs{10, 10.1, 9.9, 10.05, 9.95, 30};
  const Summary s = summarize(xs, 17);
  EXPECT_EQ(s.n, xs.size());
  EXPECT_DOUBLE_EQ(s.median, median(xs));
  EXPECT_DOUBLE_EQ(s.mean, mean(xs));
  EXPECT_DOUBLE_EQ(s.stddev, sample_stddev(xs));
  EXPECT_EQ(s.min, 9.9);
  EXPECT_EQ(s.max, 30.0);
  const Interval ci = bootstrap_median_ci(xs, 17);
  EXPECT_EQ(s.ci95_low, ci.low);
  EXPECT_EQ(s.ci95_high, ci.high);
  EXPECT_LE(s.ci95_low, s.median);
  EXPECT_GE(s.ci95_high, s.median);
  EXPECT_EQ(s.samples, xs);
  EXPECT_EQ(s.outliers, (std::vector<size_t>{5}));
  EXPECT_THROW(summarize(std::vector<double>{}, 1), std::invalid_argument);

  const nlohmann::json j = to_json(s);
  EXPECT_EQ(j.at("median").get<double>(), s.median);
  EXPECT_EQ(j.at("ci95_high").get<double>(), s.ci95_high);
  EXPECT_EQ(j.at("samples").get<std::vector<double>>(), xs);
  EXPECT_EQ(j.at("outliers").get<std::vector<size_t>>(), s.outliers);
  for (const char* key : {"mean", "stddev", "min", "max", "ci95_low"}) EXPECT_TRUE(j.contains(key));
}

TEST(StatSummary, RelativeCiHalfWidth) {
  Summary s;
  s.n = 5;
  s.median = -4.0;
  s.ci95_low = -5.0;
  s.ci95_high = -3.0;
  EXPECT_DOUBLE_EQ(relative_ci_half_width(s), 0.25);
  s.median = 0.0;
  EXPECT_EQ(relative_ci_half_width(s), std::numeric_limits<double>::infinity());
  const Summary single = summarize(std::vector<double>{3.0}, 1);
  EXPECT_EQ(single.ci95_low, 3.0);
  EXPECT_EQ(single.ci95_high, 3.0);
  EXPECT_EQ(relative_ci_half_width(single), std::numeric_limits<double>::infinity());
}

}  // namespace
}  // namespace accelab::stats
