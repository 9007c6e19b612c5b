#include "util/suggest.hpp"

#include <algorithm>
#include <numeric>

namespace accelab {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), size_t{0});
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string did_you_mean(std::string_view wrong, const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  size_t best_d = 0;
  for (const auto& c : candidates) {
    size_t d = edit_distance(wrong, c);
    if (best == nullptr || d < best_d) {
      best = &c;
      best_d = d;
    }
  }
  size_t limit = std::max<size_t>(2, wrong.size() / 3);
  if (best == nullptr || best_d > limit) return "";
  return " (did you mean '" + *best + "'?)";
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

}  // namespace accelab
