// A live strategy instance: created through the plugin's `create`, destroyed with it.
#pragma once

#include <accelab/plugin.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "plugin/registry.hpp"

namespace accelab {

/// Parameter values in declaration order, with the strings they point at kept alive.
struct ParamValues {
  std::vector<accelab_param_value> values;
  std::vector<std::string> strings;  // storage behind values[i].s (reserved up front)
};

/// A user-given parameter: name and its text as written ("32", "true", "cosine").
struct ParamSetting {
  std::string name;
  std::string text;
};

/// Checks `given` against the strategy's parameter table (unknown names with a suggestion, type,
/// range, choices) and fills defaults. Throws ConfigError naming the strategy and parameter.
ParamValues resolve_params(const LoadedStrategy& strategy, const std::vector<ParamSetting>& given);

/// Owns one instance of a strategy.
class StrategyInstance {
 public:
  /// Calls the strategy's create; throws PluginError "strategy 'x' (file): <message>" on failure.
  StrategyInstance(const LoadedStrategy& strategy, ParamValues params);
  ~StrategyInstance();
  StrategyInstance(const StrategyInstance&) = delete;
  StrategyInstance& operator=(const StrategyInstance&) = delete;

  [[nodiscard]] void* handle() const { return handle_; }
  /// What the host keeps for this instance (its record, its calibration source).
  [[nodiscard]] StrategyServices& services() { return *services_; }
  [[nodiscard]] const StrategyServices& services() const { return *services_; }
  [[nodiscard]] const LoadedStrategy& strategy() const { return *strategy_; }
  [[nodiscard]] const accelab_strategy& table() const { return *strategy_->table; }
  /// Throws PluginError "strategy 'x' failed in <what>: <message>" unless status is OK.
  void check(accelab_status status, const accelab_error& err, const char* what) const;

 private:
  const LoadedStrategy* strategy_;
  ParamValues params_;
  std::unique_ptr<StrategyServices> services_;
  accelab_host host_{};  // what the instance was created with; must live as long as it
  void* handle_ = nullptr;
};

}  // namespace accelab
