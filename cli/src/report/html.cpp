// Assembles the HTML report from the record: picks what each chart shows, lays it out, and
// wraps it in a page.
#include "report/html.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "report/record_access.hpp"
#include "report/svg_chart.hpp"

namespace accelab::report {
namespace {

using nlohmann::json;

std::optional<double> median(const json& row, std::string_view path) { return number(at(at(row, path), "median")); }

bool is_ok(const json& row) { return !is_failed(row) && at(row, "status") != "skipped"; }

// Every model's pipeline entries (a pipeline limited to some models is missing from the top list).
std::vector<const json*> all_pipelines(const json& results) {
  std::vector<const json*> out;
  for (const json& p : array_at(results, "pipelines")) out.push_back(&p);
  for (const json& m : array_at(results, "models"))
    for (const json& p : array_at(m, "pipelines")) out.push_back(&p);
  return out;
}

// Chart labels: a sweep variant (named by its long pipeline text) as "sweep key=value", the
// key's last part only; anything longer than 30 characters shortened with an ellipsis.
class Labels {
 public:
  explicit Labels(const json& results) {
    for (const json* p : all_pipelines(results)) {
      if (!at(*p, "sweep").is_object()) continue;
      std::string label = text(at(*p, "sweep/of"));
      for (const auto& [k, v] : at(*p, "sweep/point").items())
        label += fmt::format(" {}={}", k.substr(k.rfind('.') + 1), v.is_string() ? v.get<std::string>() : v.dump());
      short_[text(at(*p, "name"))] = label;
    }
  }
  [[nodiscard]] std::string operator()(const std::string& name) const {
    auto it = short_.find(name);
    std::string s = it == short_.end() ? name : it->second;
    return s.size() > 30 ? s.substr(0, 29) + "…" : s;
  }

 private:
  std::map<std::string, std::string> short_;
};

std::string fmt_num(double v, int digits = 3) { return fmt::format("{:.{}g}", v, digits); }

// ---- speed-up bars ----------------------------------------------------------------------------

// One chart per model and workload point: pp and tg speed-up of every non-baseline row.
std::string speedup_charts(const json& results) {
  const Labels label_of(results);
  std::map<std::string, std::vector<const json*>> groups;
  std::vector<std::string> order;
  for (const json& row : rows_of(results)) {
    if (!is_ok(row) || at(row, "baseline") == true) continue;
    const std::string key = workload_label(row, true);
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(&row);
  }
  std::string out;
  int index = 0;
  for (const std::string& key : order) {
    const auto& rows = groups[key];
    double hi = 1;
    for (const json* r : rows)
      for (const char* m : {"pp", "tg"})
        if (auto v = number(at(*r, fmt::format("speedup_vs_baseline/{}/ci95_high", m)))) hi = std::max(hi, *v);
        else if (auto v2 = median(*r, fmt::format("speedup_vs_baseline/{}", m))) hi = std::max(hi, *v2);
    const int width = std::max(420, 150 + 70 * static_cast<int>(rows.size()));
    SvgChart c(fmt::format("speedup-{}", index++), fmt::format("Speed-up against the baseline pipeline — {} (bars: median, whiskers: 95% CI)", key), width, 380);
    c.margins(120, 110);
    double lo = 0;
    nice_range(lo, hi, false);
    c.y.lo = 0;
    c.y.hi = hi;
    c.y_label = "speed-up ×";
    c.axes();
    c.hline(c.y.px(1), "ref", "1×");
    const double slot = (c.right() - c.left()) / static_cast<double>(rows.size());
    std::vector<std::pair<double, std::string>> labels;
    for (size_t i = 0; i < rows.size(); ++i) {
      const json& r = *rows[i];
      const double x0 = c.left() + slot * static_cast<double>(i);
      const std::string name = text(at(r, "name"));
      labels.emplace_back(x0 + slot / 2, label_of(name));
      int k = 0;
      for (const char* m : {"pp", "tg"}) {
        const std::string path = fmt::format("speedup_vs_baseline/{}", m);
        const auto v = median(r, path);
        const double bx0 = x0 + slot * (0.15 + 0.36 * k), bx1 = bx0 + slot * 0.32;
        ++k;
        if (!v) continue;
        const auto low = number(at(r, path + "/ci95_low")), high = number(at(r, path + "/ci95_high"));
        std::string tip = fmt::format("{} — {} speed-up {:.2f}×", name, m, *v);
        if (low && high) tip += fmt::format(" [{:.2f}, {:.2f}]", *low, *high);
        c.bar(bx0, bx1, c.y.px(0), c.y.px(*v), std::string("bar-") + m, tip);
        if (low && high) c.whisker((bx0 + bx1) / 2, c.y.px(*low), c.y.px(*high));
      }
    }
    c.x_categories(labels);
    c.legend({{"bar-pp", "prefill (pp)"}, {"bar-tg", "decode (tg)"}});
    out += c.svg();
  }
  return out.empty() ? "<p class=\"note\">No speed-ups: only the baseline ran (or every other row failed).</p>" : out;
}

// ---- speed vs quality -------------------------------------------------------------------------

struct TradePoint {
  std::string name;
  double speedup = 0, kld = 0;
  std::string speed_model, quality_model;
};

// Per pipeline name: the decode speed-up from the largest model it ran on (speed is measured on
// big synthetic shapes) and the KLD from a row with quality (the real model).
std::vector<TradePoint> trade_points(const json& results) {
  std::map<std::string, TradePoint> by_name;
  std::map<std::string, double> speed_weight;
  std::vector<std::string> order;
  for (const json& row : rows_of(results)) {
    if (!is_ok(row)) continue;
    const std::string name = text(at(row, "name"));
    if (!by_name.count(name)) {
      order.push_back(name);
      by_name[name] = TradePoint{name, std::nan(""), std::nan(""), "", ""};
    }
    TradePoint& p = by_name[name];
    const double weight = number(at(row, "metrics/weight_bytes")).value_or(0);
    const std::optional<double> s = at(row, "baseline") == true ? std::optional<double>(1.0) : median(row, "speedup_vs_baseline/tg");
    if (s && (!speed_weight.count(name) || weight > speed_weight[name])) {
      speed_weight[name] = weight;
      p.speedup = *s;
      p.speed_model = text(at(row, "model"));
    }
    if (auto k = number(at(row, "quality/kld_mean")); k && std::isnan(p.kld)) {
      p.kld = *k;
      p.quality_model = text(at(row, "model"));
    }
  }
  std::vector<TradePoint> out;
  for (const std::string& n : order)
    if (!std::isnan(by_name[n].speedup) && !std::isnan(by_name[n].kld)) out.push_back(by_name[n]);
  return out;
}

std::string tradeoff_chart(const json& results) {
  const Labels label_of(results);
  std::vector<TradePoint> pts = trade_points(results);
  if (pts.size() < 2) return "<p class=\"note\">No speed/quality trade-off: fewer than two pipelines have both a speed-up and a quality measurement.</p>";
  double kmin = INFINITY, kmax = 0, smax = 1;
  for (const TradePoint& p : pts) {
    if (p.kld > 0) kmin = std::min(kmin, p.kld), kmax = std::max(kmax, p.kld);
    smax = std::max(smax, p.speedup);
  }
  if (!std::isfinite(kmin)) kmin = kmax = 1e-3;
  const double floor_kld = kmin / 10;  // where KLD 0 (the baseline itself) is drawn
  double klo = floor_kld, khi = kmax, slo = 0;
  nice_range(klo, khi, true);
  nice_range(slo, smax, false);
  SvgChart c("tradeoff", "Speed vs quality: decode speed-up against mean KL divergence (log scale); the Pareto front is the line", 720, 400);
  c.x = Axis{klo, khi, c.left(), c.right(), true};
  c.y.lo = 0;
  c.y.hi = smax;
  c.x_label = fmt::format("mean KLD vs baseline ({}; KLD 0 drawn at {})", pts.front().quality_model, tick_label(floor_kld));
  c.y_label = fmt::format("tg speed-up × ({})", pts.front().speed_model);
  c.axes();
  for (double t : c.x.ticks()) c.text(c.x.px(t), c.bottom() + 16, tick_label(t), "tick", "middle");
  // Pareto front: no other point is both faster and closer to the baseline's outputs.
  std::vector<TradePoint> sorted = pts;
  std::sort(sorted.begin(), sorted.end(), [](const TradePoint& a, const TradePoint& b) {
    return a.kld != b.kld ? a.kld < b.kld : a.speedup > b.speedup;
  });
  std::vector<std::pair<double, double>> front;
  std::set<std::string> on_front;
  double best = -INFINITY;
  for (const TradePoint& p : sorted)
    if (p.speedup > best) {
      best = p.speedup;
      on_front.insert(p.name);
      front.emplace_back(c.x.px(std::max(p.kld, floor_kld)), c.y.px(p.speedup));
    }
  c.polyline(front, "front");
  for (const TradePoint& p : pts) {
    const bool f = on_front.count(p.name) > 0;
    const double px = c.x.px(std::max(p.kld, floor_kld)), py = c.y.px(p.speedup);
    c.point(px, py, f ? "pt-front" : "pt", fmt::format("{}: {:.2f}× decode, KLD {}{}", p.name, p.speedup, fmt_num(p.kld), f ? " (Pareto front)" : ""));
    c.text(px + 7, py - 6, label_of(p.name), "pt-label");
  }
  c.legend({{"pt-front", "on the Pareto front"}, {"pt", "dominated"}});
  return c.svg();
}

// ---- sweeps and scaling -----------------------------------------------------------------------

struct SweepRow {
  std::map<std::string, std::string> point;
  const json* row;
};

std::optional<double> to_number(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string sweep_charts(const json& results) {
  // Variants by sweep, per model and workload point.
  std::map<std::string, std::vector<SweepRow>> groups;
  std::map<std::string, std::map<std::string, std::string>> point_of;  // pipeline name -> point
  std::map<std::string, std::string> sweep_of;
  for (const json* pp : all_pipelines(results)) {
    const json& p = *pp;
    if (!at(p, "sweep").is_object()) continue;
    std::map<std::string, std::string> point;
    for (const auto& [k, v] : at(p, "sweep/point").items()) point[k] = v.is_string() ? v.get<std::string>() : v.dump();
    point_of[text(at(p, "name"))] = point;
    sweep_of[text(at(p, "name"))] = text(at(p, "sweep/of"));
  }
  std::map<std::string, const json*> quality_of;  // pipeline name -> a row with quality
  for (const json& row : rows_of(results))
    if (at(row, "quality/perplexity").is_number()) quality_of.emplace(text(at(row, "name")), &row);
  std::vector<std::string> order;
  for (const json& row : rows_of(results)) {
    const std::string name = text(at(row, "name"));
    if (!is_ok(row) || !point_of.count(name)) continue;
    const std::string key = sweep_of[name] + " — " + workload_label(row, true);
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back({point_of[name], &row});
  }
  std::string out;
  int index = 0;
  for (const std::string& key : order) {
    const auto& rows = groups[key];
    // x: the first swept key whose values are all numbers; series: the other keys' values.
    std::string x_key;
    for (const auto& [k, v] : rows.front().point) {
      bool numeric = true;
      for (const SweepRow& r : rows) numeric = numeric && r.point.count(k) && to_number(r.point.at(k));
      if (numeric) {
        x_key = k;
        break;
      }
    }
    if (x_key.empty()) continue;
    std::map<std::string, std::vector<std::pair<double, const json*>>> series;
    for (const SweepRow& r : rows) {
      std::string label;
      for (const auto& [k, v] : r.point)
        if (k != x_key) label += (label.empty() ? "" : ", ") + k + "=" + v;
      series[label].emplace_back(*to_number(r.point.at(x_key)), r.row);
    }
    const bool scaling = x_key.ends_with(".threads") || x_key.ends_with(".workers");
    double xlo = INFINITY, xhi = -INFINITY, yhi = 1, plo = INFINITY, phi = -INFINITY;
    bool any_ppl = false;
    for (auto& [label, pts] : series) {
      std::sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      for (const auto& [x, r] : pts) {
        xlo = std::min(xlo, x);
        xhi = std::max(xhi, x);
        yhi = std::max(yhi, median(*r, "speedup_vs_baseline/tg").value_or(at(*r, "baseline") == true ? 1.0 : 0.0));
        if (scaling) yhi = std::max(yhi, median(*r, "speedup_vs_baseline/tg").value_or(1.0) * xhi / std::max(xlo, 1e-9));
        if (auto q = quality_of.find(text(at(*r, "name"))); q != quality_of.end()) {
          const double ppl = *number(at(*q->second, "quality/perplexity"));
          plo = std::min(plo, ppl);
          phi = std::max(phi, ppl);
          any_ppl = true;
        }
      }
    }
    SvgChart c(fmt::format("sweep-{}", index++),
               fmt::format("{}: decode speed-up{} against {}", scaling ? "Scaling" : "Sweep " + key.substr(0, key.find(" — ")),
                           any_ppl ? " (solid, left) and perplexity (dashed, right)" : "", x_key) + " — " + key.substr(key.find(" — ") + 5),
               640, 360);
    double ylo = 0;
    nice_range(ylo, yhi, false);
    nice_range(xlo, xhi, false);
    c.x.lo = xlo;
    c.x.hi = xhi;
    c.y.lo = 0;
    c.y.hi = yhi;
    c.x_label = x_key;
    c.y_label = "tg speed-up ×";
    if (any_ppl) {
      nice_range(plo, phi, false);
      c.has_y2 = true;
      c.y2.lo = plo;
      c.y2.hi = phi;
      c.y2_label = "perplexity";
    }
    c.axes();
    for (double t : c.x.ticks()) c.text(c.x.px(t), c.bottom() + 16, tick_label(t), "tick", "middle");
    int s = 0;
    std::vector<std::pair<std::string, std::string>> legend;
    for (const auto& [label, pts] : series) {
      const std::string css = fmt::format("series-{}", s++ % 6);
      std::vector<std::pair<double, double>> line, ppl_line, ideal;
      for (const auto& [x, r] : pts) {
        const auto v = at(*r, "baseline") == true ? std::optional<double>(1.0) : median(*r, "speedup_vs_baseline/tg");
        if (!v) continue;
        line.emplace_back(c.x.px(x), c.y.px(*v));
        c.point(c.x.px(x), c.y.px(*v), css, fmt::format("{} = {}: {:.2f}× decode", x_key, tick_label(x), *v));
        if (scaling && !pts.empty()) {
          const auto first = median(*pts.front().second, "speedup_vs_baseline/tg").value_or(1.0);
          ideal.emplace_back(c.x.px(x), c.y.px(first * x / pts.front().first));
        }
        if (auto q = quality_of.find(text(at(*r, "name"))); q != quality_of.end()) {
          const double ppl = *number(at(*q->second, "quality/perplexity"));
          ppl_line.emplace_back(c.x.px(x), c.y2.px(ppl));
          c.point(c.x.px(x), c.y2.px(ppl), css + " ppl", fmt::format("{} = {}: perplexity {:.4f}", x_key, tick_label(x), ppl), 3.5);
        }
      }
      c.polyline(line, "line " + css);
      if (!ppl_line.empty()) c.polyline(ppl_line, "line dashed " + css);
      if (ideal.size() > 1) c.polyline(ideal, "ideal");
      legend.emplace_back(css, label.empty() ? "tg speed-up" : label);
    }
    if (scaling) legend.emplace_back("ideal-swatch", "linear scaling");
    c.legend(legend);
    out += c.svg();
  }
  return out.empty() ? "<p class=\"note\">No sweeps in this experiment (a stage parameter given as a list or range makes one).</p>" : out;
}

// ---- roofline ---------------------------------------------------------------------------------

std::string roofline_chart(const json& results) {
  const Labels label_of(results);
  std::vector<const json*> rows;
  double hi = 100;
  for (const json& row : rows_of(results))
    if (is_ok(row) && number(at(row, "roofline/tg_fraction"))) {
      rows.push_back(&row);
      hi = std::max(hi, 100 * *number(at(row, "roofline/tg_fraction")));
    }
  if (rows.empty()) return "<p class=\"note\">No roofline: the machine probes did not run.</p>";
  double lo = 0;
  nice_range(lo, hi, false);
  SvgChart c("roofline", "Decode at what fraction of the memory-bandwidth roofline (weights' bytes per token ÷ probed bandwidth)",
             std::max(420, 150 + 48 * static_cast<int>(rows.size())), 380);
  c.margins(120, 110);
  c.y.lo = 0;
  c.y.hi = hi;
  c.y_label = "% of roofline";
  c.axes();
  c.hline(c.y.px(100), "ref", "100%");
  const double slot = (c.right() - c.left()) / static_cast<double>(rows.size());
  std::vector<std::pair<double, std::string>> labels;
  for (size_t i = 0; i < rows.size(); ++i) {
    const double v = 100 * *number(at(*rows[i], "roofline/tg_fraction"));
    const double x0 = c.left() + slot * (static_cast<double>(i) + 0.2);
    const std::string label = text(at(*rows[i], "name")) + " " + workload_label(*rows[i], true);
    c.bar(x0, x0 + slot * 0.6, c.y.px(0), c.y.px(v), "bar-tg", fmt::format("{}: {:.1f}% of the decode roofline", label, v));
    labels.emplace_back(x0 + slot * 0.3, label_of(text(at(*rows[i], "name"))));
  }
  c.x_categories(labels);
  return c.svg();
}

// ---- table, environment, page -----------------------------------------------------------------

std::string cell(const std::optional<double>& v, const char* format) {
  return v ? fmt::format(fmt::runtime(format), *v) : "-";
}

std::optional<double> percent(std::optional<double> fraction) {
  return fraction ? std::optional<double>(100 * *fraction) : std::nullopt;
}

std::string results_table(const json& results) {
  std::string out = "<table><thead><tr><th>pipeline</th><th>model / workload</th><th>pp t/s</th><th>tg t/s</th><th>pp speed-up</th>"
                    "<th>tg speed-up</th><th>roofline tg %</th><th>perplexity</th><th>KLD mean</th><th>top-1 %</th></tr></thead><tbody>";
  for (const json& row : rows_of(results)) {
    out += fmt::format("<tr><td title=\"{}\">{}</td><td>{}</td>", xml_escape(text(at(row, "pipeline"))), xml_escape(text(at(row, "name"))),
                       xml_escape(workload_label(row, true)));
    if (is_failed(row)) {
      out += fmt::format("<td colspan=\"8\" class=\"failed\">FAILED: {}</td></tr>", xml_escape(text(at(row, "error"))));
      continue;
    }
    const bool base = at(row, "baseline") == true;
    out += fmt::format("<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                       cell(median(row, "metrics/pp_tokens_per_s"), "{:.1f}"), cell(median(row, "metrics/tg_tokens_per_s"), "{:.1f}"),
                       base ? "baseline" : cell(median(row, "speedup_vs_baseline/pp"), "{:.2f}×"),
                       base ? "baseline" : cell(median(row, "speedup_vs_baseline/tg"), "{:.2f}×"),
                       cell(percent(number(at(row, "roofline/tg_fraction"))), "{:.1f}"),
                       cell(number(at(row, "quality/perplexity")), "{:.4f}"), cell(number(at(row, "quality/kld_mean")), "{:.3g}"),
                       cell(number(at(row, "quality/top1_agreement")), "{:.2f}"));
  }
  return out + "</tbody></table>";
}

void flatten(const json& j, const std::string& prefix, std::string& out, int depth) {
  for (const auto& [k, v] : j.items()) {
    const std::string key = prefix.empty() ? k : prefix + "." + k;
    if (v.is_object() && depth < 2) {
      flatten(v, key, out, depth + 1);
    } else if (!v.is_array() || v.size() <= 4) {
      out += fmt::format("<tr><th>{}</th><td>{}</td></tr>", xml_escape(key), xml_escape(v.is_string() ? v.get<std::string>() : v.dump()));
    }
  }
}

std::string environment_block(const json& results) {
  std::string out = "<table class=\"env\">";
  flatten(at(results, "environment"), "", out, 0);
  out += "</table>";
  const json& plugins = array_at(results, "environment/plugins");
  if (!plugins.empty()) {
    out += "<p>Plugins:</p><ul>";
    for (const json& p : plugins)
      out += fmt::format("<li>{} {} (ABI {}.{}) — <code>{}</code></li>", xml_escape(text(at(p, "name"))), xml_escape(text(at(p, "version"))),
                         number_text(at(p, "abi/major")), number_text(at(p, "abi/minor")), xml_escape(text(at(p, "sha256")).substr(0, 12)));
    out += "</ul>";
  }
  return out;
}

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1200px;color:#1d2330;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:32px;border-bottom:1px solid #dde;padding-bottom:4px}
.sub{color:#667}.note{color:#778;font-style:italic}.failed{color:#b00020}
.charts{display:flex;flex-wrap:wrap;gap:18px}figure.chart{margin:0;border:1px solid #e3e6ee;border-radius:6px;padding:8px;background:#fff}
figcaption{font-size:13px;color:#334;max-width:720px;margin-bottom:4px}
svg text{font:11px system-ui,sans-serif;fill:#334}.tick{fill:#556}.axis-label{font-size:12px;fill:#223}
.frame{fill:none;stroke:#bbc}.grid{stroke:#eef0f4}.ref{stroke:#888;stroke-dasharray:4 3}.ref-label{fill:#777}
.bar-pp,.swatch.bar-pp{fill:#8fb3e8}.bar-tg,.swatch.bar-tg{fill:#2f6fd0}.whisker{stroke:#111;stroke-width:1.2;fill:none}
.pt{fill:#9aa3b5}.pt-front,.swatch.pt-front{fill:#d9480f}.swatch.pt{fill:#9aa3b5}.front{fill:none;stroke:#d9480f;stroke-width:1.5}
.pt-label{font-size:10px;fill:#445}.line{fill:none;stroke-width:2}.dashed{stroke-dasharray:5 4}
.ideal,.ideal-swatch{fill:none;stroke:#aaa;stroke-dasharray:2 3}.swatch.ideal-swatch{fill:#ccc}
.series-0{stroke:#2f6fd0;fill:#2f6fd0}.series-1{stroke:#d9480f;fill:#d9480f}.series-2{stroke:#2b8a3e;fill:#2b8a3e}
.series-3{stroke:#862e9c;fill:#862e9c}.series-4{stroke:#e67700;fill:#e67700}.series-5{stroke:#0b7285;fill:#0b7285}
circle.ppl{fill:#fff;stroke-width:2}.line.series-0,.line.series-1,.line.series-2,.line.series-3,.line.series-4,.line.series-5{fill:none}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border:1px solid #e1e4ea;padding:3px 8px;text-align:right}
th{background:#f4f6fa}td:first-child,th:first-child,table.env td{text-align:left}
pre{background:#f6f8fa;padding:12px;overflow:auto;font-size:12px;border-radius:6px}
)";

// Checks every chart's mark count against its data-marks when the page loads; the browser test
// reads data-ready and the console.
constexpr const char* kScript = R"(
(function(){var ok=true;document.querySelectorAll('figure.chart').forEach(function(f){
var n=f.querySelectorAll('.mark').length;if(String(n)!==f.dataset.marks){ok=false;
console.error('chart '+f.id+': '+n+' marks, expected '+f.dataset.marks);}});
document.body.dataset.charts=String(document.querySelectorAll('figure.chart').length);
document.body.dataset.ready=ok?'1':'0';})();
)";

}  // namespace

std::string html_report(const json& results) {
  const std::string name = text(at(results, "experiment/name"));
  std::string page = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  page += fmt::format("<title>accelab — {}</title><style>{}</style></head><body>", xml_escape(name), kStyle);
  page += fmt::format("<h1>{}</h1><p class=\"sub\">{}</p>", xml_escape(name), xml_escape(text(at(results, "experiment/description"))));
  page += fmt::format("<p class=\"sub\">accelab {} · started {} · finished {}{}</p>", xml_escape(text(at(results, "tool/version"))),
                      xml_escape(text(at(results, "started_at"))), xml_escape(text(at(results, "finished_at"))),
                      at(results, "complete") == false ? " · <b class=\"failed\">incomplete run</b>" : "");
  page += "<h2>Speed-up</h2><div class=\"charts\">" + speedup_charts(results) + "</div>";
  page += "<h2>Speed vs quality</h2><div class=\"charts\">" + tradeoff_chart(results) + "</div>";
  page += "<h2>Sweeps and scaling</h2><div class=\"charts\">" + sweep_charts(results) + "</div>";
  page += "<h2>Roofline</h2><div class=\"charts\">" + roofline_chart(results) + "</div>";
  page += "<h2>Results</h2>" + results_table(results);
  page += "<h2>Environment</h2>" + environment_block(results);
  page += fmt::format("<h2>Experiment file</h2><p class=\"sub\">{} (sha256 {})</p><pre>{}</pre>", xml_escape(text(at(results, "experiment/file"))),
                      xml_escape(text(at(results, "experiment/sha256")).substr(0, 16)), xml_escape(text(at(results, "experiment/text"))));
  page += fmt::format("<script>{}</script></body></html>\n", kScript);
  return page;
}

}  // namespace accelab::report
