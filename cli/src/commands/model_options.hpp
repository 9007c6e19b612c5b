// The --model/--tokenizer/--pipeline options that generate and perplexity share, and turning
// them into a live engine.
#pragma once

#include <memory>
#include <string>

#include "commands/common.hpp"
#include "runtime/engine.hpp"
#include "tokenizer/tokenizer.hpp"

namespace accelab {

struct ModelOptions {
  std::string model;
  std::string tokenizer;
  std::string pipeline;
};

/// Adds --model (required), --tokenizer and --pipeline.
void add_model_options(po::options_description& opts, ModelOptions& m);

/// Everything a command needs to run a model through a pipeline.
struct LoadedPipeline {
  std::unique_ptr<PluginRegistry> registry;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<Engine> engine;
};

/// Loads plugins, model and tokenizer, plans the pipeline (default: the fastest backend) and
/// prepares it for `max_rows` rows per call on one sequence.
/// Calibrating transforms read `calibration_text` (default: the evaluation text) after its
/// first `reserved_stories` stories.
LoadedPipeline load_pipeline(const ModelOptions& m, const CommonOptions& common, int32_t max_rows,
                             const std::string& calibration_text = {}, int32_t reserved_stories = 0);

}  // namespace accelab
