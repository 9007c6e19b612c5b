// Resolving pipeline text to strategies, with every check that needs no model: names exist,
// parameters are valid, stages are in an order that can work (transforms, then one backend).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pipeline/pipeline_text.hpp"
#include "plugin/instance.hpp"
#include "plugin/registry.hpp"

namespace accelab {

/// A stage bound to its strategy, with validated parameter values.
struct PlannedStage {
  const LoadedStrategy* strategy = nullptr;
  ParamValues params;
  StageSpec spec;
  std::vector<PlannedStage> children;  ///< A parallel stage's inner pipeline (one backend).
};

/// A runnable pipeline: zero or more transforms, then one backend (possibly parallel).
struct Plan {
  std::vector<PlannedStage> transforms;
  PlannedStage backend;
  std::string text;  ///< Canonical one-line text of the pipeline.
};

/// Plans `stages`. Throws ConfigError (unknown strategy with the available ones listed, bad
/// parameter, unavailable strategy, stages in an impossible order).
Plan plan_pipeline(const PluginRegistry& registry, const std::vector<StageSpec>& stages);
/// Parses then plans.
Plan plan_pipeline(const PluginRegistry& registry, std::string_view text);

/// Text of the backend to use when the user names none: the first available of the known fast
/// backends, falling back to cpu-ref.
std::string default_pipeline_text(const PluginRegistry& registry);

}  // namespace accelab
