// Parameter sweeps: a pipeline whose stage parameters take several values expands into one
// pipeline per combination, each a row named by its own pipeline text; and `run --filter`.
#pragma once

#include <string>
#include <vector>

#include "experiment/experiment.hpp"

namespace accelab {

/// One swept parameter of a pipeline: a top-level stage, a parameter key and its values (as
/// parameter text), and where the sweep is written.
struct SweepAxis {
  size_t stage = 0;
  std::string key;
  std::vector<std::string> values;
  SourcePos pos;
};

/// The numbers from, from + step, … up to `to` inclusive (within a millionth of a step), as
/// parameter text: integers when all three are integral, else the shortest decimal that
/// round-trips once float noise below 1e-9 of a step is removed (0.1 + 2 × 0.1 is "0.3").
/// Throws ConfigError for step ≤ 0, to < from, or more than `max_count` values.
std::vector<std::string> range_values(double from, double to, double step, size_t max_count = 10000);

/// Every combination of the axes' values set on `base` (the last axis varies fastest). Each
/// variant is named by its canonical pipeline text, keeps base's other fields, and records
/// sweep_of = base.name and its point; only the first keeps base.baseline. No axes: {base}.
std::vector<PipelineSpec> expand_sweep(const PipelineSpec& base, const std::vector<SweepAxis>& axes);

/// Keeps the pipelines whose name matches `regex` (ECMAScript, searched anywhere in the name)
/// and always the baseline. Throws ConfigError for a bad regex or when it matches no pipeline.
void filter_pipelines(Experiment& e, const std::string& regex);

}  // namespace accelab
