// Matching rows and judging each metric's change.
#include "compare/compare.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "compare/mann_whitney.hpp"
#include "report/record_access.hpp"

namespace accelab {
namespace {

using json = nlohmann::json;

using report::at;
using report::text;

// A present, non-null value at `path`, or nullptr.
const json* field(const json& j, const char* path) {
  const json& v = at(j, path);
  return v.is_null() ? nullptr : &v;
}

std::string text_of(const json& row, const char* key) { return text(at(row, key)); }

std::string workload_of(const json& row) { return report::workload_label(row); }

// Rows are matched by model, the pipeline text as written (so a changed default of a strategy
// is still the same row) and the workload point.
std::string row_key(const json& row) {
  std::string pipeline = text_of(row, "written");
  if (pipeline.empty()) pipeline = text_of(row, "pipeline");
  return fmt::format("{} | {} | {}", text_of(row, "model"), pipeline, workload_of(row));
}

std::vector<double> samples_of(const json* stat) {
  std::vector<double> out;
  if (const json* s = stat ? field(*stat, "samples") : nullptr; s && s->is_array())
    for (const json& v : *s)
      if (v.is_number()) out.push_back(v.get<double>());
  return out;
}

std::optional<double> median_of(const json* stat) {
  if (stat == nullptr) return std::nullopt;
  if (stat->is_number()) return stat->get<double>();
  if (const json* m = field(*stat, "median"); m && m->is_number()) return m->get<double>();
  return std::nullopt;
}

struct MetricSource {
  const char* name;
  bool higher_is_better;
  bool gates_speedup, gates_absolute;
  const char* path;  ///< in a row
};

const MetricSource kMetrics[] = {
    {"pp_speedup", true, true, false, "speedup_vs_baseline/pp"},
    {"tg_speedup", true, true, false, "speedup_vs_baseline/tg"},
    {"pp", true, false, true, "metrics/pp_tokens_per_s"},
    {"tg", true, false, true, "metrics/tg_tokens_per_s"},
    {"ttft_ms", false, false, true, "metrics/ttft_ms"},
    {"peak_rss", false, false, true, "metrics/peak_rss_bytes"},
    {"perplexity", false, true, true, "quality/perplexity"},
    {"kld_mean", false, true, true, "quality/kld_mean"},
    {"top1", true, true, true, "quality/top1_agreement"},
};

double threshold_for(const CompareOptions& o, const std::string& row, const std::string& metric) {
  if (auto r = o.row_thresholds.find(row); r != o.row_thresholds.end())
    if (auto m = r->second.find(metric); m != r->second.end()) return m->second;
  auto it = o.thresholds.find(metric);
  return it == o.thresholds.end() ? o.threshold : it->second;
}

std::optional<MetricChange> compare_metric(const MetricSource& src, const std::string& row, const json& b, const json& n,
                                           const CompareOptions& o, std::set<std::pair<size_t, size_t>>& few) {
  const json* bs = field(b, src.path);
  const json* ns = field(n, src.path);
  const auto bm = median_of(bs), nm = median_of(ns);
  if (!bm || !nm) return std::nullopt;
  MetricChange m;
  m.metric = src.name;
  m.higher_is_better = src.higher_is_better;
  m.base = *bm;
  m.now = *nm;
  m.gating = o.mode == CompareOptions::Mode::speedup ? src.gates_speedup : src.gates_absolute;
  // A KLD of 0 (the baseline against itself) has no relative change: compare absolutely then.
  const double scale = std::abs(m.base) > 0 ? std::abs(m.base) : 1.0;
  m.change = (m.now - m.base) / scale;
  const double bad = src.higher_is_better ? -m.change : m.change;
  m.threshold = threshold_for(o, row, m.metric);
  m.worse = bad > m.threshold;
  const std::vector<double> sb = samples_of(bs), sn = samples_of(ns);
  if (sb.size() >= 2 && sn.size() >= 2) {
    m.p = mann_whitney(sb, sn).p;
    m.significant = *m.p < o.alpha;
    if (mann_whitney_min_p(sb.size(), sn.size()) >= o.alpha) {
      m.note = fmt::format("{} vs {} repetitions can never reach p < {}", sb.size(), sn.size(), o.alpha);
      few.emplace(sb.size(), sn.size());
    }
  } else if (!sb.empty() || !sn.empty()) {
    m.note = "too few samples to test";
    few.emplace(sb.size(), sn.size());
  } else {
    m.significant = true;  // one value per side (quality, memory): the threshold alone decides
  }
  m.regression = m.gating && m.worse && m.significant;
  return m;
}

bool is_ok(const json& row) { return text_of(row, "status") == "ok" || text_of(row, "status").empty(); }

const json& rows_of(const json& results, const char* which) {
  const json* rows = field(results, "rows");
  if (rows == nullptr || !rows->is_array())
    throw CompareInputError(fmt::format("{}: not a results record (no \"rows\" array)", which));
  return *rows;
}

}  // namespace

Comparison compare_results(const json& base, const json& now, const CompareOptions& o) {
  const json& brows = rows_of(base, "BASE");
  const json& nrows = rows_of(now, "NEW");
  Comparison c;
  std::map<std::string, const json*> by_key;
  for (const json& r : brows) by_key.emplace(row_key(r), &r);
  std::set<std::string> matched;
  std::set<std::pair<size_t, size_t>> few;  // repetition counts (BASE, NEW) the test cannot judge
  for (const json& n : nrows) {
    const std::string key = row_key(n);
    auto it = by_key.find(key);
    if (it == by_key.end()) {
      c.only_new.push_back(key);
      continue;
    }
    matched.insert(key);
    const json& b = *it->second;
    RowComparison rc;
    rc.model = text_of(n, "model");
    rc.name = text_of(n, "name");
    rc.pipeline = text_of(n, "written").empty() ? text_of(n, "pipeline") : text_of(n, "written");
    rc.workload = workload_of(n);
    rc.status = "ok";
    if (!is_ok(n) && is_ok(b)) {
      rc.status = fmt::format("failed in NEW: {}", text_of(n, "error"));
      rc.failed_in_new = true;
      rc.regression = true;
    } else if (!is_ok(b)) {
      rc.status = fmt::format("failed in BASE: {}", text_of(b, "error"));
    }
    const bool baseline_row = at(n, "baseline") == true;
    for (const MetricSource& src : kMetrics) {
      if (baseline_row && (std::string_view(src.name) == "pp_speedup" || std::string_view(src.name) == "tg_speedup")) continue;
      if (auto m = compare_metric(src, rc.name, b, n, o, few)) {
        rc.regression = rc.regression || m->regression;
        rc.metrics.push_back(std::move(*m));
      }
    }
    c.regression = c.regression || rc.regression;
    c.rows.push_back(std::move(rc));
  }
  for (const json& b : brows)
    if (!matched.count(row_key(b))) c.only_base.push_back(row_key(b));
  if (c.rows.empty())
    throw CompareInputError(fmt::format("BASE and NEW have no row in common (BASE: {} rows, NEW: {} rows)", brows.size(), nrows.size()));
  for (const auto& [nb, nn] : few)
    c.warnings.push_back(fmt::format("{} vs {} repetitions: too few, the Mann-Whitney test can never reach p < {} (the smallest p is {:.3g}); "
                                     "changes of these rows cannot count as regressions, measure more repetitions",
                                     nb, nn, o.alpha, mann_whitney_min_p(nb, nn)));
  if (!c.only_base.empty() || !c.only_new.empty())
    c.warnings.push_back(fmt::format("{} row(s) only in BASE and {} only in NEW were not compared", c.only_base.size(), c.only_new.size()));
  for (const auto& [row, metrics] : o.row_thresholds)
    if (std::none_of(c.rows.begin(), c.rows.end(), [&](const RowComparison& r) { return r.name == row; }))
      c.warnings.push_back(fmt::format("--threshold for row '{}': no compared row has that name", row));
  return c;
}

void confirm_regressions(Comparison& c, const Comparison& again, const std::string& label) {
  auto key = [](const RowComparison& r) { return std::tie(r.model, r.pipeline, r.workload); };
  c.regression = false;
  for (RowComparison& r : c.rows) {
    auto it = std::find_if(again.rows.begin(), again.rows.end(), [&](const RowComparison& a) { return key(a) == key(r); });
    if (it != again.rows.end()) {
      if (r.failed_in_new && !it->failed_in_new) {
        r.failed_in_new = false;
        r.status += fmt::format(" (not reproduced by {})", label);
      }
      for (MetricChange& m : r.metrics) {
        if (!m.regression) continue;
        auto same = std::find_if(it->metrics.begin(), it->metrics.end(), [&](const MetricChange& a) { return a.metric == m.metric; });
        if (same != it->metrics.end() && !same->regression) {
          m.regression = false;
          m.unconfirmed = true;
          m.note = fmt::format("{:+.1f}% in {}", 100 * same->change, label);
        }
      }
    }
    r.regression = r.failed_in_new || std::any_of(r.metrics.begin(), r.metrics.end(), [](const MetricChange& m) { return m.regression; });
    c.regression = c.regression || r.regression;
  }
}

}  // namespace accelab
