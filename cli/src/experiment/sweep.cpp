// Expansion of swept parameters into pipelines, and the --filter of `accelab run`.
#include "experiment/sweep.hpp"

#include <cmath>
#include <regex>

#include <fmt/format.h>

namespace accelab {

std::vector<std::string> range_values(double from, double to, double step, size_t max_count) {
  if (!(step > 0)) throw ConfigError(fmt::format("range step must be positive (got {})", step));
  if (!(to >= from)) throw ConfigError(fmt::format("range 'to' ({}) is below 'from' ({})", to, from));
  const double span = (to - from) / step;
  if (span + 1 > static_cast<double>(max_count))
    throw ConfigError(fmt::format("range from {} to {} by {} has more than {} values", from, to, step, max_count));
  const auto count = static_cast<size_t>(std::floor(span + 1e-6)) + 1;
  const bool integral = from == std::floor(from) && step == std::floor(step);
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    double v = from + static_cast<double>(i) * step;
    if (integral) {
      out.push_back(fmt::format("{}", static_cast<int64_t>(std::llround(v))));
      continue;
    }
    // Round to 1e-9 of the step's magnitude (dividing by an exact power of ten, which lands on
    // the double nearest the decimal), then print the shortest round-tripping form.
    const double scale = std::pow(10.0, 9 - std::floor(std::log10(step)));
    v = std::round(v * scale) / scale;
    out.push_back(fmt::format("{}", v));
  }
  return out;
}

namespace {

void set_param(StageSpec& stage, const std::string& key, const std::string& value) {
  for (ParamSetting& p : stage.params)
    if (p.name == key) {
      p.text = value;
      return;
    }
  stage.params.push_back({key, value});
}

}  // namespace

std::vector<PipelineSpec> expand_sweep(const PipelineSpec& base, const std::vector<SweepAxis>& axes) {
  if (axes.empty()) return {base};
  std::vector<PipelineSpec> out;
  std::vector<size_t> at(axes.size(), 0);
  for (;;) {
    PipelineSpec v = base;
    v.sweep_of = base.name;
    v.baseline = base.baseline && out.empty();
    for (size_t a = 0; a < axes.size(); ++a) {
      const SweepAxis& axis = axes[a];
      set_param(v.stages[axis.stage], axis.key, axis.values[at[a]]);
      v.sweep_point.emplace_back(v.stages[axis.stage].name + "." + axis.key, axis.values[at[a]]);
    }
    v.text = to_pipeline_text(v.stages);
    v.name = v.text;
    out.push_back(std::move(v));
    size_t a = axes.size();
    while (a > 0 && ++at[a - 1] == axes[a - 1].values.size()) at[--a] = 0;
    if (a == 0) break;
  }
  return out;
}

void filter_pipelines(Experiment& e, const std::string& regex) {
  std::regex re;
  try {
    re = std::regex(regex, std::regex::ECMAScript);
  } catch (const std::regex_error& err) {
    throw ConfigError(fmt::format("--filter '{}' is not a valid regular expression: {}", regex, err.what()));
  }
  std::vector<PipelineSpec> kept;
  std::string names;
  for (size_t i = 0; i < e.pipelines.size(); ++i) {
    names += (i ? ", " : "") + e.pipelines[i].name;
    if (std::regex_search(e.pipelines[i].name, re) || i == e.baseline) kept.push_back(e.pipelines[i]);
  }
  const bool matched = kept.size() > 1 || std::regex_search(kept.front().name, re);
  if (!matched) throw ConfigError(fmt::format("--filter '{}' matches no pipeline of {} (pipelines: {})", regex, e.file, names));
  e.pipelines = std::move(kept);
  for (size_t i = 0; i < e.pipelines.size(); ++i)
    if (e.pipelines[i].baseline) e.baseline = i;
}

}  // namespace accelab
