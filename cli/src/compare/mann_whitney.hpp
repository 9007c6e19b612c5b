// The Mann–Whitney U test (Wilcoxon rank-sum) for two independent samples: does one tend to be
// larger? No assumption of normality, which timing samples rarely satisfy.
#pragma once

#include <cstddef>
#include <span>

namespace accelab {

struct MannWhitney {
  double u = 0;        ///< U of the first sample: pairs (a, b) with a > b, ties counting 1/2
  double p = 1;        ///< two-sided p-value
  bool exact = false;  ///< p from the exact distribution (small samples without ties), else normal approximation
};

/// Tests samples a and b (each non-empty). Exact p for n_a, n_b ≤ 50 without ties; otherwise the
/// normal approximation with tie and continuity corrections (Boost.Math's normal distribution).
MannWhitney mann_whitney(std::span<const double> a, std::span<const double> b);

/// The smallest two-sided p-value the test can ever give for these sample sizes (all of one
/// sample above all of the other): 2 / C(n_a + n_b, n_a). When it is above the significance
/// level, no difference can be detected, however large.
double mann_whitney_min_p(size_t n_a, size_t n_b);

}  // namespace accelab
