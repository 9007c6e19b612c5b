// Ranks, exact null distribution by counting, and the normal approximation.
#include "compare/mann_whitney.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <boost/math/distributions/normal.hpp>

namespace accelab {
namespace {

// Number of arrangements of n_a values among n_a + n_b with U = u, for every u (no ties):
// the classic recurrence f(n_a, n_b, u) = f(n_a - 1, n_b, u - n_b) + f(n_a, n_b - 1, u), in
// doubles (C(100, 50) ≈ 1e29 fits).
std::vector<double> exact_counts(size_t n_a, size_t n_b) {
  // table[j][u] for the current i = n_a prefix, j = 0..n_b
  const size_t max_u = n_a * n_b;
  std::vector<std::vector<double>> prev(n_b + 1, std::vector<double>(max_u + 1, 0.0));
  for (size_t j = 0; j <= n_b; ++j) prev[j][0] = 1.0;  // i = 0: U = 0 only
  for (size_t i = 1; i <= n_a; ++i) {
    std::vector<std::vector<double>> cur(n_b + 1, std::vector<double>(max_u + 1, 0.0));
    cur[0][0] = 1.0;  // j = 0: U = 0 only
    for (size_t j = 1; j <= n_b; ++j)
      for (size_t u = 0; u <= i * j; ++u) cur[j][u] = (u >= j ? prev[j][u - j] : 0.0) + cur[j - 1][u];
    prev = std::move(cur);
  }
  return prev[n_b];
}

}  // namespace

double mann_whitney_min_p(size_t n_a, size_t n_b) {
  double c = 1.0;  // C(n_a + n_b, n_a)
  for (size_t k = 1; k <= n_a; ++k) c = c * static_cast<double>(n_b + k) / static_cast<double>(k);
  return std::min(1.0, 2.0 / c);
}

MannWhitney mann_whitney(std::span<const double> a, std::span<const double> b) {
  const size_t na = a.size(), nb = b.size(), n = na + nb;
  MannWhitney out;
  if (na == 0 || nb == 0) return out;
  // Midranks of the pooled samples, and the tie correction term sum(t^3 - t).
  std::vector<std::pair<double, size_t>> pooled;
  for (size_t i = 0; i < na; ++i) pooled.emplace_back(a[i], 0);
  for (size_t i = 0; i < nb; ++i) pooled.emplace_back(b[i], 1);
  std::sort(pooled.begin(), pooled.end());
  double rank_sum_a = 0, ties = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && pooled[j].first == pooled[i].first) ++j;
    const double rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k)
      if (pooled[k].second == 0) rank_sum_a += rank;
    const double t = static_cast<double>(j - i);
    ties += t * t * t - t;
    i = j;
  }
  out.u = rank_sum_a - static_cast<double>(na * (na + 1)) / 2.0;
  const double mean = static_cast<double>(na * nb) / 2.0;

  if (ties == 0 && na <= 50 && nb <= 50) {
    const std::vector<double> counts = exact_counts(na, nb);
    const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
    // Two-sided: twice the smaller tail at the observed U (U is an integer without ties).
    const auto u = static_cast<size_t>(std::llround(out.u));
    double low = 0, high = 0;
    for (size_t k = 0; k <= u; ++k) low += counts[k];
    for (size_t k = u; k < counts.size(); ++k) high += counts[k];
    out.p = std::min(1.0, 2.0 * std::min(low, high) / total);
    out.exact = true;
    return out;
  }
  const double nd = static_cast<double>(n);
  const double var = static_cast<double>(na * nb) / 12.0 * ((nd + 1.0) - ties / (nd * (nd - 1.0)));
  if (var <= 0) return out;  // every value equal: no evidence of a difference
  const double z = (std::abs(out.u - mean) - 0.5) / std::sqrt(var);
  const boost::math::normal standard;
  out.p = z <= 0 ? 1.0 : std::min(1.0, 2.0 * boost::math::cdf(boost::math::complement(standard, z)));
  return out;
}

}  // namespace accelab
