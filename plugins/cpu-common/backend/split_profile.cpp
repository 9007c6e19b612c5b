#include "split_profile.hpp"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <utility>

namespace accelab::cpu {
namespace {

double seconds(SplitProfile::Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The median of `xs` and the share of their sum held by the largest 1% of them (at least one).
std::pair<double, double> median_and_top_share(std::vector<float> xs) {
  if (xs.empty()) return {0.0, 0.0};
  std::sort(xs.begin(), xs.end());
  const size_t n = xs.size();
  const double median = n % 2 == 1 ? xs[n / 2] : (double{xs[n / 2 - 1]} + xs[n / 2]) / 2;
  const size_t top = std::max<size_t>(1, n / 100);
  const double all = std::accumulate(xs.begin(), xs.end(), 0.0);
  const double largest = std::accumulate(xs.end() - static_cast<std::ptrdiff_t>(top), xs.end(), 0.0);
  return {median, all > 0 ? largest / all : 0.0};
}

}  // namespace

SplitProfile::SplitProfile(int threads)
    : current_(static_cast<size_t>(std::max(threads, 1))), threads_(current_.size()) {}

void SplitProfile::begin(Clock::time_point t) {
  entered_ = t;
  for (Current& c : current_) c = Current{};
}

void SplitProfile::forked(Clock::time_point t) {
  forked_ = t;
}

void SplitProfile::grain(int worker, Clock::time_point start, Clock::time_point end, double bytes) {
  Current& c =
      current_[static_cast<size_t>(worker) < current_.size() ? static_cast<size_t>(worker) : 0];
  if (!c.ran) c.first = start;
  c.last = end;
  c.bytes += bytes;
  c.ran = true;
}

void SplitProfile::end(Clock::time_point t) {
  ++products_;
  wall_ += seconds(t - entered_);
  quantize_ += seconds(forked_ - entered_);
  Clock::time_point first_end = Clock::time_point::max(), last_end = Clock::time_point::min();
  for (size_t i = 0; i < current_.size(); ++i) {
    const Current& c = current_[i];
    if (!c.ran) continue;
    PerThread& p = threads_[i];
    p.start += seconds(c.first - forked_);
    p.busy += seconds(c.last - c.first);
    p.bytes += c.bytes;
    ++p.products;
    bytes_ += c.bytes;
    first_end = std::min(first_end, c.last);
    last_end = std::max(last_end, c.last);
  }
  if (last_end == Clock::time_point::min()) return;
  spread_ += seconds(last_end - first_end);
  spreads_.push_back(static_cast<float>(seconds(last_end - first_end)));
  join_ += seconds(t - last_end);
}

std::string SplitProfile::summary() const {
  if (products_ == 0) return "";
  const double n = static_cast<double>(products_);
  auto us = [&](double total) { return total / n * 1e6; };
  const auto [spread_median, spread_top] = median_and_top_share(spreads_);
  char line[400];
  std::snprintf(
      line, sizeof line,
      "\n  decode products: %llu on %zu threads, %.2f MB of weights and %.1f us each (%.1f GB/s "
      "over the wall time)\n    input prepared in %.1f us before the fork; the threads finish "
      "%.1f us apart (median %.1f us; %.0f%% of it in the 1%% of products furthest apart) and "
      "are joined %.1f us after the last",
      static_cast<unsigned long long>(products_), threads_.size(), bytes_ / n / 1e6, us(wall_),
      wall_ > 0 ? bytes_ / wall_ / 1e9 : 0.0, us(quantize_), us(spread_), spread_median * 1e6,
      100.0 * spread_top, us(join_));
  std::string out = line;
  for (size_t i = 0; i < threads_.size(); ++i) {
    const PerThread& p = threads_[i];
    if (p.products == 0) {
      std::snprintf(line, sizeof line, "\n    thread %zu: ran no part of any product", i);
    } else {
      const double k = static_cast<double>(p.products);
      std::snprintf(
          line, sizeof line,
          "\n    thread %zu: starts %.1f us after the fork, busy %.1f us at %.1f GB/s (in %.1f%% "
          "of the products)",
          i, p.start / k * 1e6, p.busy / k * 1e6, p.busy > 0 ? p.bytes / p.busy / 1e9 : 0.0,
          100.0 * k / n);
    }
    out += line;
  }
  return out;
}

}  // namespace accelab::cpu
