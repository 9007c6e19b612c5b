#include "pipeline/planner.hpp"

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/suggest.hpp"

namespace accelab {
namespace {

const char* kind_word(accelab_strategy_kind k) {
  switch (k) {
    case ACCELAB_STRATEGY_BACKEND: return "backend";
    case ACCELAB_STRATEGY_TRANSFORM: return "transform";
    case ACCELAB_STRATEGY_PARALLEL: return "parallel strategy";
  }
  return "strategy";
}

PlannedStage bind(const PluginRegistry& registry, const StageSpec& spec) {
  const LoadedStrategy* s = registry.find(spec.name);
  if (s == nullptr) {
    auto names = registry.strategy_names();
    throw ConfigError(fmt::format("unknown strategy '{}'{}; available: {}", spec.name,
                                  did_you_mean(spec.name, names),
                                  names.empty() ? "(no plugins found; see 'accelab plugins -v')"
                                                : join(names)));
  }
  if (!s->available())
    throw ConfigError(fmt::format("strategy '{}' cannot run on this machine: {}", spec.name,
                                  s->unavailable_reason));
  PlannedStage out;
  out.strategy = s;
  out.params = resolve_params(*s, spec.params);
  out.spec = spec;
  return out;
}

}  // namespace

Plan plan_pipeline(const PluginRegistry& registry, const std::vector<StageSpec>& stages) {
  Plan plan;
  plan.text = to_pipeline_text(stages);
  for (size_t i = 0; i < stages.size(); ++i) {
    PlannedStage stage = bind(registry, stages[i]);
    accelab_strategy_kind kind = stage.strategy->table->kind;
    bool last = i + 1 == stages.size();
    const std::string& name = stages[i].name;
    if (kind == ACCELAB_STRATEGY_TRANSFORM) {
      if (!stages[i].children.empty())
        throw ConfigError(fmt::format("pipeline '{}': transform '{}' takes no nested pipeline", plan.text, name));
      if (last)
        throw ConfigError(fmt::format("pipeline '{}' ends with transform '{}'; end it with a backend such as cpu-ref", plan.text, name));
      plan.transforms.push_back(std::move(stage));
      continue;
    }
    if (!last)
      throw ConfigError(fmt::format("pipeline '{}': {} '{}' must be the last stage (transforms come first, then one backend)",
                                    plan.text, kind_word(kind), name));
    if (kind == ACCELAB_STRATEGY_BACKEND && !stages[i].children.empty())
      throw ConfigError(fmt::format("pipeline '{}': backend '{}' takes no nested pipeline", plan.text, name));
    if (kind == ACCELAB_STRATEGY_PARALLEL) {
      const auto& inner = stages[i].children;
      if (inner.size() != 1)
        throw ConfigError(fmt::format("pipeline '{}': parallel strategy '{}' needs exactly one inner backend in parentheses, e.g. {}(cpu-ref)",
                                      plan.text, name, name));
      PlannedStage child = bind(registry, inner[0]);
      if (child.strategy->table->kind == ACCELAB_STRATEGY_TRANSFORM)
        throw ConfigError(fmt::format("pipeline '{}': the inner stage of '{}' must be a backend, not transform '{}'",
                                      plan.text, name, inner[0].name));
      Plan nested = plan_pipeline(registry, inner);  // checks the inner stage's own nesting
      stage.children.push_back(std::move(nested.backend));
    }
    plan.backend = std::move(stage);
  }
  return plan;
}

Plan plan_pipeline(const PluginRegistry& registry, std::string_view text) {
  return plan_pipeline(registry, parse_pipeline_text(text));
}

std::string default_pipeline_text(const PluginRegistry& registry) {
  for (const char* name : {"cpu-tbb", "cpu-eigen"})
    if (const LoadedStrategy* s = registry.find(name); s && s->available()) return name;
  return "cpu-ref";
}

}  // namespace accelab
