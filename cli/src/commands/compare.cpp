// accelab compare BASE NEW: did NEW regress against BASE? Exit 0 no, 1 yes, 2 unusable input.
#include <fmt/format.h>

#include <algorithm>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "compare/compare.hpp"
#include "util/error.hpp"
#include "experiment/jsonl_writer.hpp"

namespace accelab {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_results(const std::string& arg, const char* which) {
  fs::path path = arg;
  std::error_code ec;
  if (fs::is_directory(path, ec)) path /= "results.json";
  if (!fs::is_regular_file(path, ec)) throw CompareInputError(fmt::format("{} '{}': no such results file", which, path.string()));
  std::string text;
  try {
    text = read_text_file(path.string());
  } catch (const Error& e) {
    throw CompareInputError(fmt::format("{} '{}': {}", which, path.string(), e.what()));
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw CompareInputError(fmt::format("{} '{}': not JSON (byte {}): {}", which, path.string(), e.byte, e.what()));
  }
}

// "5%", "0.05" (a fraction), "tg=10%" (one metric) or "cpu-tbb-2t:tg_speedup=35%" (one metric of
// one row, named as in the experiment).
void parse_threshold(const std::string& arg, CompareOptions& o) {
  static const std::vector<std::string> kMetrics{"pp", "tg", "ttft_ms", "peak_rss", "pp_speedup", "tg_speedup", "perplexity", "kld_mean", "top1"};
  std::string row, metric, value = arg;
  if (const size_t eq = arg.find('='); eq != std::string::npos) {
    metric = arg.substr(0, eq);
    value = arg.substr(eq + 1);
    if (const size_t colon = metric.rfind(':'); colon != std::string::npos) {
      row = metric.substr(0, colon);
      metric = metric.substr(colon + 1);
      if (row.empty()) throw UsageError(fmt::format("--threshold '{}': expected ROW:METRIC=VALUE with a row name before ':'", arg));
    }
    if (std::find(kMetrics.begin(), kMetrics.end(), metric) == kMetrics.end())
      throw UsageError(fmt::format("--threshold '{}': unknown metric '{}'; metrics: {}{}", arg, metric, fmt::join(kMetrics, ", "),
                                   row.empty() ? " (one row's: ROW:METRIC=VALUE)" : ""));
  }
  const bool percent = !value.empty() && value.back() == '%';
  if (percent) value.pop_back();
  char* end = nullptr;
  double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(v) || v < 0)
    throw UsageError(fmt::format("--threshold '{}': expected a non-negative number such as 5% or 0.05, optionally after METRIC= or ROW:METRIC=", arg));
  if (percent) v /= 100;
  if (!row.empty()) o.row_thresholds[row][metric] = v;
  else if (metric.empty()) o.threshold = v;
  else o.thresholds[metric] = v;
}

}  // namespace

int cmd_compare(const Args& args) {
  CommonOptions common;
  std::string base, now, metric = "speedup", format = "console", markdown_out, json_out;
  std::vector<std::string> thresholds, confirms;
  double alpha = 0.05;
  po::options_description opts("options");
  opts.add_options()("base", po::value(&base)->required(), "BASE results.json (or the directory holding it)")
      ("new", po::value(&now)->required(), "NEW results.json (or the directory holding it)")
      ("metric", po::value(&metric), "what gates: 'speedup' (each pipeline's speed-up against its record's baseline pipeline; default) or 'absolute' (tokens/s, TTFT, memory); quality gates in both")
      ("threshold", po::value(&thresholds)->composing(), "smallest change that counts, e.g. 5% (default) or 0.05; METRIC=VALUE for one metric, ROW:METRIC=VALUE for one metric of one row (the pipeline's name); repeatable, e.g. tg_speedup=10% or cpu-tbb-2t:tg_speedup=35%")
      ("alpha", po::value(&alpha), "significance level of the Mann-Whitney U test (default 0.05)")
      ("format", po::value(&format), "stdout format: console (default), markdown or json")
      ("markdown", po::value(&markdown_out), "also write the Markdown table (a pull-request comment) to this file")
      ("json", po::value(&json_out), "also write the JSON comparison to this file")
      ("confirm", po::value(&confirms)->composing(), "a later run of NEW's experiment (repeatable): a regression counts only if it regresses against BASE in NEW and in every such run (rerun what failed on a noisy machine)");
  po::positional_options_description pos;
  pos.add("base", 1).add("new", 1);
  auto parsed = parse_args(args, "compare BASE NEW [--metric speedup|absolute] [--threshold 5%] [--confirm RUN]... [--format console|markdown|json]",
                           "Compares two results: each metric's change with a Mann-Whitney U test on the repetitions.\n"
                           "Exit code 0: no significant regression; 1: a regression; 2: unusable input.",
                           opts, pos, common);
  if (parsed.help) return 0;
  CompareOptions o;
  if (metric == "speedup") o.mode = CompareOptions::Mode::speedup;
  else if (metric == "absolute") o.mode = CompareOptions::Mode::absolute;
  else throw UsageError(fmt::format("--metric '{}': expected speedup or absolute", metric));
  if (format != "console" && format != "markdown" && format != "json")
    throw UsageError(fmt::format("--format '{}': expected console, markdown or json", format));
  if (!(alpha > 0 && alpha < 1)) throw UsageError(fmt::format("--alpha {}: expected a number in (0, 1)", alpha));
  o.alpha = alpha;
  for (const std::string& t : thresholds) parse_threshold(t, o);

  const nlohmann::json base_record = read_results(base, "BASE");
  Comparison c = compare_results(base_record, read_results(now, "NEW"), o);
  for (const std::string& run : confirms)
    confirm_regressions(c, compare_results(base_record, read_results(run, "--confirm"), o), run);
  if (format == "console") fmt::print("{}", compare_console(c, o));
  else if (format == "markdown") fmt::print("{}", compare_markdown(c, o));
  else fmt::print("{}\n", compare_json(c, o).dump(2));
  if (!markdown_out.empty()) write_file_atomically(markdown_out, compare_markdown(c, o));
  if (!json_out.empty()) write_file_atomically(json_out, compare_json(c, o).dump(2) + "\n");
  return c.regression ? 1 : 0;
}

}  // namespace accelab
