// An experiment file, parsed: what model, which workload points, how to measure, which
// pipelines. The format is specified in experiments/README.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/pipeline_text.hpp"
#include "util/error.hpp"

namespace accelab {

/// A place in an experiment file, for error messages ("file:line:column").
struct SourcePos {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
  [[nodiscard]] std::string str() const;
};

/// An error in an experiment file; the message starts with "file:line:column: ".
class ExperimentError : public ConfigError {
 public:
  ExperimentError(const SourcePos& pos, const std::string& what)
      : ConfigError(pos.str() + ": " + what), pos_(pos) {}
  [[nodiscard]] const SourcePos& pos() const { return pos_; }

 private:
  SourcePos pos_;
};

struct WorkloadSpec {
  std::vector<int32_t> prompt_tokens{128};
  std::vector<int32_t> generate_tokens{128};
  std::vector<int32_t> batch{1};
  std::string prompt_text;  ///< File whose stories seed the prompts, "random", or empty (default).
  SourcePos pos;
};

struct ModelSpec {
  std::string name;       ///< Row label: [model] name, else the synth shape or the file stem.
  std::string path;       ///< Checkpoint file (resolved), or empty for synth.
  std::string tokenizer;  ///< Tokenizer file (resolved), or empty (default / none).
  std::string synth;      ///< Synthetic shape (preset or custom), or empty.
  uint64_t synth_seed = 0;
  SourcePos pos;          ///< Of the [model] table.
  std::optional<WorkloadSpec> workload;  ///< [model] workload: replaces the experiment's keys it names.
};

struct MeasureSpec {
  int32_t warmup = 1;
  int32_t repetitions = 5;      ///< Minimum count (the exact count unless auto or min_time).
  bool auto_repetitions = false;
  double min_time_s = 0;        ///< Keep repeating until each pipeline measured this long.
  double target_ci = 0.05;      ///< auto: stop when every CI half-width < target × median.
  double max_time_s = 300;      ///< auto/min_time: stop repeating after this long.
  int32_t max_repetitions = 50; ///< auto/min_time: never more repetitions than this.
  bool quality = true;
  std::string eval_text;        ///< Resolved path; empty = default evaluation text.
  int32_t stories = 50;
  SourcePos pos;
};

struct PipelineSpec {
  std::string name;
  std::vector<StageSpec> stages;
  std::string text;  ///< Canonical pipeline text.
  bool baseline = false;
  std::vector<std::string> models;  ///< Models it runs on (names); empty = every model.
  SourcePos pos;             ///< Of the [[pipeline]] table.
  std::vector<SourcePos> stage_pos;  ///< Of each stage (text form: column inside the string).
  std::string sweep_of;      ///< A sweep's variant: the [[pipeline]] name it came from; else empty.
  std::vector<std::pair<std::string, std::string>> sweep_point;  ///< "strategy.key" -> value
};

struct Experiment {
  std::string file;
  std::string sha256;
  std::string text;  ///< The file's contents.
  std::string name;
  std::string description;
  uint64_t seed = 42;
  ModelSpec model;                ///< The model being planned (models[0] until a plan picks one).
  std::vector<ModelSpec> models;  ///< Every [model] / [[model]], in file order.
  WorkloadSpec workload;
  MeasureSpec measure;
  std::vector<PipelineSpec> pipelines;
  size_t baseline = 0;  ///< Index into pipelines.
};

/// Parses and checks an experiment file (syntax, keys, types, ranges, files that must exist,
/// pipeline text syntax). Strategy names and parameters are checked by plan_experiment.
/// Throws ExperimentError with the position of the problem, or FileError if unreadable.
Experiment parse_experiment(const std::string& path);

/// Expands "${ACCELAB_DATA}" (and "$ACCELAB_DATA") in a path and resolves a relative result
/// against `base_dir`.
std::string resolve_experiment_path(const std::string& value, const std::string& base_dir);

}  // namespace accelab
