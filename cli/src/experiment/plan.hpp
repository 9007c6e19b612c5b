// An experiment checked against the loaded plugins and the model's header: every pipeline
// planned and its backend asked about every node, before any weights are read.
#pragma once

#include <accelab/plugin.h>

#include <string>
#include <vector>

#include "experiment/experiment.hpp"
#include "pipeline/planner.hpp"

namespace accelab {

struct ExperimentPlan {
  Experiment experiment;
  std::vector<Plan> plans;          ///< One per pipeline, same order.
  accelab_model_config config{};    ///< Of the model (from its header or the synthetic shape).
  bool synthetic = false;
  std::string model_path;           ///< The checkpoint (for synth: its cache file, maybe not yet written).
  std::string tokenizer_path;       ///< Empty when there is none (random prompts, no quality).
  std::string prompt_text_path;     ///< Stories that seed the prompts; empty = random tokens.
  std::string eval_text_path;       ///< Evaluation text for quality; empty when quality is off.
  std::string quality_skipped;      ///< Why quality is not measured, or empty.
};

/// Where synthetic models are cached: $ACCELAB_CACHE, else $XDG_CACHE_HOME/accelab, else
/// ~/.cache/accelab.
std::string synth_cache_dir();

/// Plans every pipeline of `e` (unknown strategies, parameters, stage order and backend support
/// reported at the pipeline's or stage's position) and resolves model, tokenizer and texts.
ExperimentPlan plan_experiment(Experiment e, const PluginRegistry& registry);

/// Plans the experiment once per model of e.models (each plan's experiment.model is that model).
std::vector<ExperimentPlan> plan_experiment_models(const Experiment& e, const PluginRegistry& registry);

/// Human-readable resolved plan, for --dry-run.
std::string describe_plan(const ExperimentPlan& plan);

/// The canonical text of a planned pipeline with every parameter spelled out (defaults too).
std::string resolved_pipeline_text(const Plan& plan);

}  // namespace accelab
