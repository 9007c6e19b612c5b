#include "report/tables.hpp"

#include "report/record_access.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

namespace accelab::report {
namespace {

using nlohmann::json;

// ---- numbers ---------------------------------------------------------------------------------

std::string fixed(double x, int decimals) {
  return fmt::format("{:.{}f}", x, decimals);
}

int rate_decimals(double tokens_per_s) {
  return std::abs(tokens_per_s) < 1000 ? 1 : 0;
}

std::string format_ms(double ms) {
  const double a = std::abs(ms);
  return fixed(ms, a < 1 ? 3 : a < 10 ? 2 : a < 1000 ? 1 : 0);
}

std::string format_mib(double bytes) {
  const double mib = bytes / (1024.0 * 1024.0);
  const double a = std::abs(mib);
  return fixed(mib, a < 10 ? 2 : a < 1000 ? 1 : 0);
}

// Four significant digits; scientific below 1e-3 where fixed notation would be mostly zeros.
std::string format_kld(double x) {
  if (x == 0) return "0";
  const double a = std::abs(x);
  if (!std::isfinite(x) || a < 1e-3) return fmt::format("{:.2e}", x);
  return fixed(x, std::max(0, 3 - static_cast<int>(std::floor(std::log10(a)))));
}

std::string format_ppl(double x) {
  return fixed(x, 4);
}
std::string format_percent(double x) {
  return fixed(x, 2);
}
std::string format_ratio(double x) {
  return fixed(x, 2) + "×";
}
// A roofline fraction as a percentage: one decimal is all a once-per-run probe can support.
std::string format_fraction_percent(double x) {
  return fixed(x * 100, 1);
}

std::string number_cell(const json& v, const std::function<std::string(double)>& format) {
  const auto x = number(v);
  return x ? format(*x) : "-";
}

// ---- cells shared by the Markdown and console tables -----------------------------------------

bool several_models(const json& results) {
  const json& m = at(results, "models");
  return m.is_array() && m.size() > 1;
}

std::string row_label(const json& row) {
  const std::string name = text(at(row, "name"));
  return fmt::format("{} {}", name.empty() ? "?" : name, workload_label(row));
}

// "median ± CI half-width", both with the median's number of decimals.
std::string rate_cell(const json& summary) {
  const auto median = number(at(summary, "median"));
  if (!median) return "-";
  const int decimals = rate_decimals(*median);
  const auto low = number(at(summary, "ci95_low"));
  const auto high = number(at(summary, "ci95_high"));
  if (!low || !high) return fixed(*median, decimals);
  return fmt::format("{} ± {}", fixed(*median, decimals), fixed((*high - *low) / 2, decimals));
}

std::string speedup_cell(const json& row, std::string_view metric) {
  if (at(row, "baseline") == true) return "baseline";
  const json& s = at(at(row, "speedup_vs_baseline"), metric);
  const auto median = number(at(s, "median"));
  if (!median) return "-";
  const auto low = number(at(s, "ci95_low"));
  const auto high = number(at(s, "ci95_high"));
  if (!low || !high) return format_ratio(*median);
  return fmt::format("{} [{}, {}]", format_ratio(*median), fixed(*low, 2), fixed(*high, 2));
}

struct Column {
  std::string header;
  bool right_aligned;
  std::function<std::string(const json& row)> cell;
};

// The metric columns of both human-readable tables, in order; the Markdown table adds decode
// latency percentiles, which do not fit a terminal line.
std::vector<Column> metric_columns(bool with_latency) {
  std::vector<Column> cols = {
      {"pp t/s", true, [](const json& r) { return rate_cell(at(r, "metrics/pp_tokens_per_s")); }},
      {"tg t/s", true, [](const json& r) { return rate_cell(at(r, "metrics/tg_tokens_per_s")); }},
      {"pp speed-up", true, [](const json& r) { return speedup_cell(r, "pp"); }},
      {"tg speed-up", true, [](const json& r) { return speedup_cell(r, "tg"); }},
      {"pp % GEMM", true,
       [](const json& r) {
         return number_cell(at(r, "roofline/pp_fraction"), format_fraction_percent);
       }},
      {"roofline tg %", true,
       [](const json& r) {
         return number_cell(at(r, "roofline/tg_fraction"), format_fraction_percent);
       }},
      {"TTFT ms", true,
       [](const json& r) { return number_cell(at(r, "metrics/ttft_ms/median"), format_ms); }},
  };
  if (with_latency) {
    cols.push_back({"tg ms p50", true, [](const json& r) {
                      return number_cell(at(r, "metrics/tg_latency_ms_p50/median"), format_ms);
                    }});
    cols.push_back({"tg ms p99", true, [](const json& r) {
                      return number_cell(at(r, "metrics/tg_latency_ms_p99/median"), format_ms);
                    }});
  }
  const std::vector<Column> rest = {
      {"peak MiB", true,
       [](const json& r) { return number_cell(at(r, "metrics/peak_rss_bytes"), format_mib); }},
      {"weights MiB", true,
       [](const json& r) { return number_cell(at(r, "metrics/weight_bytes"), format_mib); }},
      {"PPL", true,
       [](const json& r) { return number_cell(at(r, "quality/perplexity"), format_ppl); }},
      {"KLD mean", true,
       [](const json& r) { return number_cell(at(r, "quality/kld_mean"), format_kld); }},
      {"top-1 %", true,
       [](const json& r) { return number_cell(at(r, "quality/top1_agreement"), format_percent); }},
  };
  cols.insert(cols.end(), rest.begin(), rest.end());
  return cols;
}

// ---- text measured in code points ------------------------------------------------------------

size_t width(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string pad(std::string_view s, size_t w, bool right_aligned) {
  const std::string fill(w > width(s) ? w - width(s) : 0, ' ');
  return right_aligned ? fill + std::string(s) : std::string(s) + fill;
}

// Control characters (a newline in an error, an escape sequence) would break a table line.
std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return out;
}

// The first `n` code points of s, as bytes.
size_t prefix_bytes(std::string_view s, size_t n) {
  size_t i = 0;
  for (size_t seen = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && seen++ == n) break;
  }
  return i;
}

// Greedy word wrap to lines of at most `w` code points; words longer than a line are split.
std::vector<std::string> wrap(std::string_view s, size_t w) {
  std::vector<std::string> lines;
  std::string line;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find(' ', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view word = s.substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;
    if (!line.empty() && width(line) + 1 + width(word) <= w) {
      line += ' ';
      line += word;
      continue;
    }
    if (!line.empty()) lines.push_back(std::move(line));
    line.clear();
    while (width(word) > w) {
      const size_t cut = prefix_bytes(word, w);
      lines.emplace_back(word.substr(0, cut));
      word.remove_prefix(cut);
    }
    line = std::string(word);
  }
  if (!line.empty() || lines.empty()) lines.push_back(std::move(line));
  return lines;
}

// ---- Markdown --------------------------------------------------------------------------------

// Backslash-escapes the punctuation that means something inside a GFM table cell; an escaped
// '|' is the only way to keep a pipe from splitting the cell.
std::string md_escape(std::string_view s) {
  std::string out;
  for (char c : one_line(s)) {
    if (std::string_view("\\`*_[]<>|~&").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::string md_line(const std::vector<std::string>& cells, const std::vector<size_t>& widths,
                    const std::vector<bool>& right) {
  std::string line = "|";
  for (size_t i = 0; i < cells.size(); ++i)
    line += fmt::format(" {} |", pad(cells[i], widths[i], right[i]));
  return line + "\n";
}

std::string short_commit(const json& env) {
  std::string commit = text(at(env, "git/commit")).substr(0, 7);
  if (commit.empty()) return {};
  if (at(env, "git/dirty") == true) commit += "-dirty";
  return "commit " + commit;
}

std::string environment_line(const json& env) {
  std::vector<std::string> parts;
  if (const std::string cpu = text(at(env, "cpu/model")); !cpu.empty()) parts.push_back(cpu);
  const std::string physical = number_text(at(env, "cpu/physical_cores"));
  const std::string logical = number_text(at(env, "cpu/logical_cores"));
  const auto count = [](const std::string& n, const char* what) {
    return fmt::format("{} {}{}", n, what, n == "1" ? "" : "s");
  };
  if (!physical.empty() && !logical.empty())
    parts.push_back(count(physical, "core") + " / " + count(logical, "thread"));
  else if (!physical.empty() || !logical.empty())
    parts.push_back(count(physical.empty() ? logical : physical, "core"));
  std::string compiler = text(at(env, "compiler/id"));
  if (const std::string version = text(at(env, "compiler/version")); !version.empty())
    compiler += (compiler.empty() ? "" : " ") + version;
  if (!compiler.empty()) parts.push_back(compiler);
  if (const std::string build = text(at(env, "build_type")); !build.empty()) parts.push_back(build);
  if (const std::string commit = short_commit(env); !commit.empty()) parts.push_back(commit);
  if (parts.empty()) return {};
  std::string line = "**Environment:** " + md_escape(parts.front());
  for (size_t i = 1; i < parts.size(); ++i) line += ", " + md_escape(parts[i]);
  return line + "\n";
}

std::string model_line(const json& results) {
  const std::string source = text(at(results, "model/source"));
  if (source.empty()) return {};
  std::string line = "**Model:** " + md_escape(source);
  if (at(results, "model/synthetic") == true) line += " (synthetic weights)";
  if (const std::string started = text(at(results, "started_at")); !started.empty())
    line += ", started " + md_escape(started);
  return line + "\n";
}

size_t outlier_count(const json& row) {
  size_t n = 0;
  const json& metrics = at(row, "metrics");
  if (!metrics.is_object()) return 0;
  for (const auto& [key, summary] : metrics.items()) {
    const json& outliers = at(summary, "outliers");
    if (outliers.is_array()) n += outliers.size();
  }
  return n;
}

// Each workload point's roofline bandwidth with its round probes' spread: a fraction is only as
// good as its bar, and the median alone hides a machine that changed speed mid-run.
void roofline_bandwidth_notes(const json& results, std::vector<std::string>& out) {
  std::vector<std::string> probed_points;
  for (const json& row : rows_of(results)) {
    const auto median = number(at(row, "roofline/bandwidth_bytes_per_s"));
    std::vector<double> each;
    for (const json& v : array_at(row, "roofline/probe_bandwidths_bytes_per_s"))
      if (const auto x = number(v)) each.push_back(*x);
    const std::string point = workload_label(row, several_models(results));
    if (!median || each.empty() ||
        std::find(probed_points.begin(), probed_points.end(), point) != probed_points.end())
      continue;
    probed_points.push_back(point);
    const auto [lo, hi] = std::minmax_element(each.begin(), each.end());
    out.push_back(each.size() == 1
                      ? fmt::format("Roofline bandwidth at {}: {:.1f} GB/s (one round probe).",
                                    md_escape(point), *median / 1e9)
                      : fmt::format("Roofline bandwidth at {}: {:.1f} GB/s, the median of {} round "
                                    "probes ({:.1f}–{:.1f} GB/s).",
                                    md_escape(point), *median / 1e9, each.size(), *lo / 1e9, *hi / 1e9));
  }
}

std::vector<std::string> notes(const json& results) {
  std::vector<std::string> out;
  const json& rows = rows_of(results);
  if (at(results, "complete") == false)
    out.push_back("Incomplete run: it stopped before every row was measured.");

  const std::string skipped = text(at(results, "quality_skipped"));
  if (!skipped.empty()) out.push_back("Quality not measured: " + md_escape(skipped) + ".");
  std::vector<std::pair<std::string, std::string>> row_skips;  // (name, reason), once each
  for (const json& row : rows) {
    std::pair<std::string, std::string> skip{text(at(row, "name")),
                                             text(at(row, "quality_skipped"))};
    if (skip.second.empty() || skip.second == skipped) continue;
    if (std::find(row_skips.begin(), row_skips.end(), skip) == row_skips.end())
      row_skips.push_back(std::move(skip));
  }
  for (const auto& [name, reason] : row_skips)
    out.push_back(
        fmt::format("Quality not measured for {}: {}.", md_escape(name), md_escape(reason)));

  std::vector<std::string> nondeterministic;
  for (const json& row : rows)
    if (at(row, "deterministic") == false && !is_failed(row))
      nondeterministic.push_back(md_escape(row_label(row)));
  if (!nondeterministic.empty())
    out.push_back("Non-deterministic (generated tokens differed between repetitions): " +
                  fmt::format("{}.", fmt::join(nondeterministic, ", ")));

  std::set<std::string> names_with_rows;
  for (const json& row : rows) {
    names_with_rows.insert(text(at(row, "name")));
    if (!is_failed(row)) continue;
    const std::string error = text(at(row, "error"));
    out.push_back(fmt::format("Failed: {}: {}", md_escape(row_label(row)),
                              error.empty() ? "no error message recorded" : md_escape(error)));
  }
  for (const json& p : array_at(results, "pipelines")) {
    if (at(p, "status") != "failed" || names_with_rows.count(text(at(p, "name")))) continue;
    out.push_back(fmt::format("Failed pipeline {}: {}", md_escape(text(at(p, "name"))),
                              md_escape(text(at(p, "error")))));
  }

  roofline_bandwidth_notes(results, out);

  size_t outliers = 0;
  std::vector<std::string> outlier_rows;
  for (const json& row : rows) {
    if (const size_t n = outlier_count(row); n > 0) {
      outliers += n;
      outlier_rows.push_back(fmt::format("{}: {}", md_escape(row_label(row)), n));
    }
  }
  if (outliers > 0)
    out.push_back(fmt::format(
        "Outliers (|modified z-score| > 3.5, kept in the statistics): {} sample{} ({}).", outliers,
        outliers == 1 ? "" : "s", fmt::join(outlier_rows, ", ")));
  return out;
}

// ---- CSV -------------------------------------------------------------------------------------

struct CsvColumn {
  const char* header;
  const char* path;  // in the row, for at()
};

constexpr CsvColumn kCsvColumns[] = {
    {"name", "name"},
    {"pipeline", "pipeline"},
    {"prompt_tokens", "workload/prompt_tokens"},
    {"generate_tokens", "workload/generate_tokens"},
    {"batch", "workload/batch"},
    {"status", "status"},
    {"error", "error"},
    {"repetitions", "repetitions"},
    {"pp_median", "metrics/pp_tokens_per_s/median"},
    {"pp_ci95_low", "metrics/pp_tokens_per_s/ci95_low"},
    {"pp_ci95_high", "metrics/pp_tokens_per_s/ci95_high"},
    {"tg_median", "metrics/tg_tokens_per_s/median"},
    {"tg_ci95_low", "metrics/tg_tokens_per_s/ci95_low"},
    {"tg_ci95_high", "metrics/tg_tokens_per_s/ci95_high"},
    {"speedup_pp", "speedup_vs_baseline/pp/median"},
    {"speedup_pp_ci95_low", "speedup_vs_baseline/pp/ci95_low"},
    {"speedup_pp_ci95_high", "speedup_vs_baseline/pp/ci95_high"},
    {"speedup_tg", "speedup_vs_baseline/tg/median"},
    {"speedup_tg_ci95_low", "speedup_vs_baseline/tg/ci95_low"},
    {"speedup_tg_ci95_high", "speedup_vs_baseline/tg/ci95_high"},
    {"ttft_ms_median", "metrics/ttft_ms/median"},
    {"tg_latency_ms_p50", "metrics/tg_latency_ms_p50/median"},
    {"tg_latency_ms_p90", "metrics/tg_latency_ms_p90/median"},
    {"tg_latency_ms_p99", "metrics/tg_latency_ms_p99/median"},
    {"peak_rss_bytes", "metrics/peak_rss_bytes"},
    {"weight_bytes", "metrics/weight_bytes"},
    {"perplexity", "quality/perplexity"},
    {"kld_mean", "quality/kld_mean"},
    {"kld_p99", "quality/kld_p99"},
    {"kld_max", "quality/kld_max"},
    {"top1_agreement", "quality/top1_agreement"},
    {"deterministic", "deterministic"},
    // Appended later: columns are only ever added at the end.
    {"tg_fraction", "roofline/tg_fraction"},
    {"pp_fraction", "roofline/pp_fraction"},
    {"bandwidth_bytes_per_s", "roofline/bandwidth_bytes_per_s"},
    {"gemm_flops_per_s", "roofline/gemm_flops_per_s"},
    {"model", "model"},
};

std::string csv_value(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return v.get<std::string>();
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case json::value_t::number_integer:
      return fmt::format("{}", v.get<int64_t>());
    case json::value_t::number_unsigned:
      return fmt::format("{}", v.get<uint64_t>());
    case json::value_t::number_float: {
      const double x = v.get<double>();
      return std::isfinite(x) ? fmt::format("{}", x) : std::string();  // as JSON would: null
    }
    case json::value_t::null:
    case json::value_t::discarded:
      return {};
    default:  // an object or array where a scalar belongs: show it rather than drop it
      return v.dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// ---- console ---------------------------------------------------------------------------------

constexpr std::string_view kBold = "\x1b[1m";
constexpr std::string_view kRed = "\x1b[31m";
constexpr std::string_view kReset = "\x1b[0m";
constexpr size_t kGap = 2;           // spaces between columns
constexpr size_t kMinFailSpan = 40;  // room for an error message on a table of narrow columns

std::string paint(std::string_view s, std::string_view code, bool color) {
  return color ? fmt::format("{}{}{}", code, s, kReset) : std::string(s);
}

}  // namespace

std::string markdown_table(const json& results) {
  std::string out;
  const std::string name = text(at(results, "experiment/name"));
  out += "# " + (name.empty() ? std::string("accelab results") : md_escape(name)) + "\n\n";
  if (const std::string d = text(at(results, "experiment/description")); !d.empty())
    out += md_escape(d) + "\n\n";
  const std::string env = environment_line(at(results, "environment"));
  const std::string model = model_line(results);
  if (!env.empty() || !model.empty()) out += env + (env.empty() ? "" : "\n") + model + "\n";

  std::vector<std::string> headers = {"name", "pipeline", "workload"};
  std::vector<bool> right = {false, false, false};
  const std::vector<Column> metrics = metric_columns(true);
  for (const Column& c : metrics) {
    headers.push_back(c.header);
    right.push_back(c.right_aligned);
  }
  std::vector<std::vector<std::string>> lines;
  for (const json& row : rows_of(results)) {
    std::vector<std::string> cells = {md_escape(text(at(row, "name"))),
                                      md_escape(text(at(row, "pipeline"))), workload_label(row, several_models(results))};
    for (const Column& c : metrics) {
      if (!is_failed(row))
        cells.push_back(c.cell(row));  // computed text: digits, "±", "×", brackets, "-"
      else                             // the error is too long for a cell: it goes to the notes
        cells.push_back(&c == &metrics.front() ? "**FAILED**" : "");
    }
    lines.push_back(std::move(cells));
  }
  std::vector<size_t> widths;
  for (size_t i = 0; i < headers.size(); ++i) {
    size_t w = std::max<size_t>(width(headers[i]), 3);  // "---" is the shortest separator
    for (const auto& cells : lines) w = std::max(w, width(cells[i]));
    widths.push_back(w);
  }
  out += md_line(headers, widths, right);
  std::string separator = "|";
  for (size_t i = 0; i < widths.size(); ++i)
    separator += fmt::format(" {}{} |", std::string(widths[i] - 1, '-'), right[i] ? ':' : '-');
  out += separator + "\n";
  for (const auto& cells : lines) out += md_line(cells, widths, right);

  const std::vector<std::string> note_lines = notes(results);
  if (!note_lines.empty()) {
    out += "\n## Notes\n\n";
    for (const std::string& n : note_lines) out += "- " + n + "\n";
  }
  return out;
}

std::string csv_table(const json& results) {
  std::string out;
  for (const CsvColumn& c : kCsvColumns) {
    if (&c != kCsvColumns) out += ",";
    out += c.header;
  }
  out += "\n";
  for (const json& row : rows_of(results)) {
    for (const CsvColumn& c : kCsvColumns) {
      if (&c != kCsvColumns) out += ",";
      out += csv_field(csv_value(at(row, c.path)));
    }
    out += "\n";
  }
  return out;
}

std::string console_table(const json& results, bool color) {
  std::vector<std::string> headers = {"pipeline", "workload"};
  std::vector<bool> right = {false, false};
  const std::vector<Column> metrics = metric_columns(false);
  for (const Column& c : metrics) {
    headers.push_back(c.header);
    right.push_back(c.right_aligned);
  }
  struct Line {
    std::vector<std::string> cells;  // name, workload, then the metrics unless failed
    std::string failure;             // "FAILED: ..." for a failed row
  };
  std::vector<Line> lines;
  for (const json& row : rows_of(results)) {
    Line line{{one_line(text(at(row, "name"))), workload_label(row, several_models(results))}, {}};
    if (is_failed(row)) {
      const std::string error = one_line(text(at(row, "error")));
      line.failure = error.empty() ? "FAILED" : "FAILED: " + error;
    } else {
      for (const Column& c : metrics) line.cells.push_back(one_line(c.cell(row)));
    }
    lines.push_back(std::move(line));
  }

  std::vector<size_t> widths;
  for (size_t i = 0; i < headers.size(); ++i) {
    size_t w = width(headers[i]);
    for (const Line& l : lines)
      if (i < l.cells.size()) w = std::max(w, width(l.cells[i]));
    widths.push_back(w);
  }
  size_t span = 0;  // the metric columns, where a failure message goes
  for (size_t i = 2; i < widths.size(); ++i) span += widths[i] + (i > 2 ? kGap : 0);
  if (span < kMinFailSpan) {
    widths.back() += kMinFailSpan - span;
    span = kMinFailSpan;
  }
  size_t total = 0;
  for (size_t w : widths) total += w;
  total += kGap * (widths.size() - 1);

  const std::string gap(kGap, ' ');
  const auto join_cells = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t i = 0; i < cells.size(); ++i)
      s += (i > 0 ? gap : "") + pad(cells[i], widths[i], right[i]);
    return s;
  };

  std::string out = paint(join_cells(headers), kBold, color) + "\n";
  std::string rule;
  for (size_t i = 0; i < total; ++i) rule += "─";
  out += rule + "\n";
  for (const Line& l : lines) {
    if (l.failure.empty()) {
      out += join_cells(l.cells) + "\n";
      continue;
    }
    const std::vector<std::string> parts = wrap(l.failure, span);
    for (size_t k = 0; k < parts.size(); ++k) {
      const std::vector<std::string> lead =
          k == 0 ? l.cells : std::vector<std::string>{std::string(), std::string()};
      out += join_cells(lead) + gap + paint(pad(parts[k], span, false), kRed, color) + "\n";
    }
  }
  return out;
}

}  // namespace accelab::report
