#include "plugin/instance.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <cmath>

#include "util/error.hpp"
#include "util/suggest.hpp"

namespace accelab {
namespace {

const char* type_word(accelab_param_type t) {
  switch (t) {
    case ACCELAB_PARAM_BOOL: return "a boolean (true/false)";
    case ACCELAB_PARAM_INT: return "an integer";
    case ACCELAB_PARAM_FLOAT: return "a number";
    case ACCELAB_PARAM_STRING: return "a string";
  }
  return "a value";
}

template <class T>
bool parse_number(const std::string& text, T& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

}  // namespace

ParamValues resolve_params(const LoadedStrategy& strategy, const std::vector<ParamSetting>& given) {
  const accelab_strategy& s = *strategy.table;
  ParamValues out;
  out.strings.reserve(static_cast<size_t>(s.n_params));
  std::vector<std::string> names;
  for (int32_t i = 0; i < s.n_params; ++i) names.emplace_back(s.params[i].name);

  std::vector<const ParamSetting*> chosen(static_cast<size_t>(s.n_params), nullptr);
  for (const auto& g : given) {
    auto it = std::find(names.begin(), names.end(), g.name);
    if (it == names.end())
      throw ConfigError(fmt::format(
          "strategy '{}' has no parameter '{}'{}; its parameters are: {}", s.name, g.name,
          did_you_mean(g.name, names), names.empty() ? "(none)" : join(names)));
    auto idx = static_cast<size_t>(it - names.begin());
    if (chosen[idx] != nullptr)
      throw ConfigError(fmt::format("strategy '{}': parameter '{}' is given twice", s.name, g.name));
    chosen[idx] = &g;
  }

  for (int32_t i = 0; i < s.n_params; ++i) {
    const accelab_param_desc& d = s.params[i];
    accelab_param_value v = d.default_value;
    v.type = d.type;
    if (const ParamSetting* g = chosen[static_cast<size_t>(i)]) {
      auto bad = [&](const std::string& why) {
        return ConfigError(fmt::format("strategy '{}': parameter '{}' = '{}' {}", s.name, d.name,
                                       g->text, why));
      };
      bool ranged = d.min <= d.max;
      switch (d.type) {
        case ACCELAB_PARAM_BOOL:
          if (g->text == "true" || g->text == "1") v.i = 1;
          else if (g->text == "false" || g->text == "0") v.i = 0;
          else throw bad(std::string("is not ") + type_word(d.type));
          break;
        case ACCELAB_PARAM_INT:
          if (!parse_number(g->text, v.i)) throw bad(std::string("is not ") + type_word(d.type));
          if (ranged && (static_cast<double>(v.i) < d.min || static_cast<double>(v.i) > d.max))
            throw bad(fmt::format("is out of range [{}, {}]", d.min, d.max));
          break;
        case ACCELAB_PARAM_FLOAT:
          if (!parse_number(g->text, v.f) || !std::isfinite(v.f))
            throw bad(std::string("is not ") + type_word(d.type));
          if (ranged && (v.f < d.min || v.f > d.max))
            throw bad(fmt::format("is out of range [{}, {}]", d.min, d.max));
          break;
        case ACCELAB_PARAM_STRING: {
          if (d.choices != nullptr) {
            std::string_view rest(d.choices);
            bool found = false;
            std::vector<std::string> options;
            while (true) {
              size_t bar = rest.find('|');
              options.emplace_back(rest.substr(0, bar));
              if (options.back() == g->text) found = true;
              if (bar == std::string_view::npos) break;
              rest = rest.substr(bar + 1);
            }
            if (!found)
              throw bad(fmt::format("is not one of: {}{}", join(options),
                                    did_you_mean(g->text, options)));
          }
          out.strings.push_back(g->text);
          v.s = out.strings.back().c_str();
          break;
        }
      }
    }
    out.values.push_back(v);
  }
  return out;
}

StrategyInstance::StrategyInstance(const LoadedStrategy& strategy, ParamValues params)
    : strategy_(&strategy), params_(std::move(params)), services_(std::make_unique<StrategyServices>()),
      host_(host_services_for(services_.get())) {
  if (!strategy.available())
    throw PluginError(fmt::format("strategy '{}' cannot run on this machine: {}", strategy.name(),
                                  strategy.unavailable_reason));
  accelab_error err{};
  accelab_status st = table().create(&host_, params_.values.data(), &handle_, &err);
  if (st != ACCELAB_STATUS_OK) {
    handle_ = nullptr;
    check(st, err, "create");
  }
}

StrategyInstance::~StrategyInstance() {
  if (handle_ != nullptr) table().destroy(handle_);
}

void StrategyInstance::check(accelab_status status, const accelab_error& err,
                             const char* what) const {
  if (status == ACCELAB_STATUS_OK) return;
  std::string message(err.message, strnlen(err.message, sizeof err.message));
  if (message.empty()) message = fmt::format("status {}", static_cast<int>(status));
  throw PluginError(fmt::format("strategy '{}' ({}) failed in {}: {}", strategy_->name(),
                                strategy_->plugin->path.filename().string(), what, message));
}

}  // namespace accelab
