// The console table, the Markdown comment and the JSON of a comparison.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "compare/compare.hpp"

namespace accelab {
namespace {

std::string number(double v) {
  const double a = std::abs(v);
  if (a >= 1e9) return fmt::format("{:.3g}", v);
  if (a >= 1000) return fmt::format("{:.0f}", v);
  if (a >= 10) return fmt::format("{:.2f}", v);
  if (a >= 0.01 || v == 0) return fmt::format("{:.4f}", v);
  return fmt::format("{:.3g}", v);
}

std::string verdict(const MetricChange& m) {
  if (m.regression) return "REGRESSION";
  if (m.unconfirmed) return "not reproduced";
  if (m.worse && m.gating) return "worse, not significant";
  if (m.worse) return "worse (not gated)";
  const double good = m.higher_is_better ? m.change : -m.change;
  if (good > 0 && m.significant && m.p) return "better";
  return "ok";
}

std::string mode_name(const CompareOptions& o) { return o.mode == CompareOptions::Mode::speedup ? "speedup" : "absolute"; }

struct Cells {
  std::vector<std::string> cells;
  bool regression;
};

std::vector<Cells> table_rows(const Comparison& c, const CompareOptions& o) {
  std::vector<Cells> out;
  for (const RowComparison& r : c.rows) {
    const std::string row = fmt::format("{} {}", r.name, r.workload);
    if (r.status != "ok") out.push_back({{row, "status", "-", "-", "-", "-", r.status}, r.regression});
    for (const MetricChange& m : r.metrics) {
      std::string v = verdict(m);
      if (!m.note.empty()) v += " (" + m.note + ")";
      if (m.gating && m.threshold != o.threshold) v += fmt::format(" [threshold {:g}%]", 100 * m.threshold);
      out.push_back({{row, m.metric, number(m.base), number(m.now), fmt::format("{:+.1f}%", 100 * m.change),
                      m.p ? fmt::format("{:.3g}", *m.p) : "-", v},
                     m.regression});
    }
  }
  return out;
}

const std::vector<std::string> kHeader{"row", "metric", "BASE", "NEW", "change", "p", "verdict"};

std::string summary(const Comparison& c, const CompareOptions& o) {
  size_t n = 0, unconfirmed = 0;
  for (const RowComparison& r : c.rows) {
    n += r.regression;
    for (const MetricChange& m : r.metrics) unconfirmed += m.unconfirmed;
  }
  const std::string dropped =
      unconfirmed == 0 ? "" : fmt::format("; {} regression(s) of NEW not reproduced by the confirmation run(s)", unconfirmed);
  if (!c.regression)
    return fmt::format("no significant regression ({} rows compared, --metric {}, threshold {:g}%){}", c.rows.size(), mode_name(o),
                       100 * o.threshold, dropped);
  return fmt::format("REGRESSION in {} of {} rows (--metric {}, threshold {:g}%){}", n, c.rows.size(), mode_name(o), 100 * o.threshold,
                     dropped);
}

}  // namespace

std::string compare_console(const Comparison& c, const CompareOptions& o) {
  const std::vector<Cells> rows = table_rows(c, o);
  std::vector<size_t> width(kHeader.size());
  for (size_t i = 0; i < kHeader.size(); ++i) width[i] = kHeader[i].size();
  for (const Cells& r : rows)
    for (size_t i = 0; i < r.cells.size(); ++i) width[i] = std::max(width[i], r.cells[i].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t i = 0; i < cells.size(); ++i) {
      const bool right = i >= 2 && i <= 5;
      s += right ? fmt::format("{:>{}}", cells[i], width[i]) : fmt::format("{:<{}}", cells[i], width[i]);
      s += i + 1 < cells.size() ? "  " : "";
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  };
  std::string out = line(kHeader);
  size_t total = 0;
  for (size_t w : width) total += w + 2;
  out += std::string(total - 2, '-') + "\n";
  for (const Cells& r : rows) out += line(r.cells);
  for (const std::string& k : c.only_base) out += fmt::format("only in BASE: {}\n", k);
  for (const std::string& k : c.only_new) out += fmt::format("only in NEW: {}\n", k);
  for (const std::string& w : c.warnings) out += fmt::format("warning: {}\n", w);
  out += summary(c, o) + "\n";
  return out;
}

std::string compare_markdown(const Comparison& c, const CompareOptions& o) {
  auto esc = [](std::string s) {
    std::string out;
    for (char ch : s) {
      if (ch == '|' || ch == '*' || ch == '_' || ch == '<' || ch == '>' || ch == '`') out += '\\';
      out += ch;
    }
    return out;
  };
  std::string out = fmt::format("### accelab compare: {}\n\n", c.regression ? "❌ " + summary(c, o) : "✅ " + summary(c, o));
  out += "| row | metric | BASE | NEW | change | p | verdict |\n|---|---|--:|--:|--:|--:|---|\n";
  for (const Cells& r : table_rows(c, o)) {
    std::string line = "|";
    for (size_t i = 0; i < r.cells.size(); ++i) {
      std::string cell = esc(r.cells[i]);
      if (r.regression && i == 6) cell = "**" + cell + "**";
      line += " " + cell + " |";
    }
    out += line + "\n";
  }
  if (!c.only_base.empty() || !c.only_new.empty() || !c.warnings.empty()) out += "\n";
  for (const std::string& k : c.only_base) out += fmt::format("- only in BASE: {}\n", esc(k));
  for (const std::string& k : c.only_new) out += fmt::format("- only in NEW: {}\n", esc(k));
  for (const std::string& w : c.warnings) out += fmt::format("- warning: {}\n", esc(w));
  return out;
}

nlohmann::json compare_json(const Comparison& c, const CompareOptions& o) {
  nlohmann::json rows = nlohmann::json::array();
  for (const RowComparison& r : c.rows) {
    nlohmann::json metrics = nlohmann::json::array();
    for (const MetricChange& m : r.metrics)
      metrics.push_back({{"metric", m.metric}, {"higher_is_better", m.higher_is_better}, {"base", m.base}, {"new", m.now},
                         {"change", m.change}, {"threshold", m.threshold}, {"p", m.p ? nlohmann::json(*m.p) : nlohmann::json(nullptr)},
                         {"gating", m.gating}, {"worse", m.worse}, {"significant", m.significant},
                         {"regression", m.regression}, {"unconfirmed", m.unconfirmed}, {"note", m.note}});
    rows.push_back({{"model", r.model}, {"name", r.name}, {"pipeline", r.pipeline}, {"workload", r.workload},
                    {"status", r.status}, {"regression", r.regression}, {"metrics", metrics}});
  }
  return {{"regression", c.regression}, {"metric", mode_name(o)}, {"threshold", o.threshold}, {"thresholds", o.thresholds},
          {"row_thresholds", o.row_thresholds},
          {"alpha", o.alpha}, {"rows", rows}, {"only_base", c.only_base}, {"only_new", c.only_new}, {"warnings", c.warnings}};
}

}  // namespace accelab
