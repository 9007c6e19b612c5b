// accelab plugins [--json] [-v]: what is loaded, what each strategy takes, what was rejected.
#include <fmt/core.h>

#include <accelab/plugin.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands/commands.hpp"
#include "commands/common.hpp"

namespace accelab {
namespace {

const char* kind_name(accelab_strategy_kind k) {
  switch (k) {
    case ACCELAB_STRATEGY_BACKEND: return "backend";
    case ACCELAB_STRATEGY_TRANSFORM: return "transform";
    case ACCELAB_STRATEGY_PARALLEL: return "parallel";
  }
  return "unknown";
}

const char* type_name(accelab_param_type t) {
  switch (t) {
    case ACCELAB_PARAM_BOOL: return "bool";
    case ACCELAB_PARAM_INT: return "int";
    case ACCELAB_PARAM_FLOAT: return "float";
    case ACCELAB_PARAM_STRING: return "string";
  }
  return "unknown";
}

nlohmann::json value_json(const accelab_param_value& v) {
  switch (v.type) {
    case ACCELAB_PARAM_BOOL: return v.i != 0;
    case ACCELAB_PARAM_INT: return v.i;
    case ACCELAB_PARAM_FLOAT: return v.f;
    case ACCELAB_PARAM_STRING: return v.s ? v.s : "";
  }
  return nullptr;
}

nlohmann::json registry_json(const PluginRegistry& registry) {
  nlohmann::json plugins = nlohmann::json::array();
  for (const auto& p : registry.plugins()) {
    const accelab_plugin_descriptor& d = *p->descriptor;
    nlohmann::json strategies = nlohmann::json::array();
    for (const auto& s : p->strategies) {
      const accelab_strategy& t = *s.table;
      nlohmann::json params = nlohmann::json::array();
      for (int32_t i = 0; i < t.n_params; ++i) {
        const accelab_param_desc& pd = t.params[i];
        nlohmann::json j = {{"name", pd.name}, {"type", type_name(pd.type)},
                            {"default", value_json(pd.default_value)},
                            {"doc", pd.doc ? pd.doc : ""}};
        bool ranged = pd.min <= pd.max &&
                      (pd.type == ACCELAB_PARAM_INT || pd.type == ACCELAB_PARAM_FLOAT);
        j["min"] = ranged ? nlohmann::json(pd.min) : nlohmann::json(nullptr);
        j["max"] = ranged ? nlohmann::json(pd.max) : nlohmann::json(nullptr);
        j["choices"] = pd.choices ? nlohmann::json(pd.choices) : nlohmann::json(nullptr);
        params.push_back(std::move(j));
      }
      strategies.push_back({{"name", t.name}, {"kind", kind_name(t.kind)},
                            {"description", t.description ? t.description : ""},
                            {"available", s.available()},
                            {"unavailable_reason", s.unavailable_reason},
                            {"params", std::move(params)}});
    }
    plugins.push_back({{"name", d.name}, {"version", d.version},
                       {"description", d.description ? d.description : ""},
                       {"path", p->path.string()}, {"sha256", p->sha256},
                       {"abi", {{"major", d.abi_major}, {"minor", d.abi_minor}}},
                       {"strategies", std::move(strategies)}});
  }
  nlohmann::json rejected = nlohmann::json::array();
  for (const auto& r : registry.rejections())
    rejected.push_back({{"path", r.path.string()}, {"reason", r.reason}});
  return {{"host_abi", {{"major", ACCELAB_ABI_MAJOR}, {"minor", ACCELAB_ABI_MINOR}}},
          {"plugins", std::move(plugins)}, {"rejected", std::move(rejected)}};
}

std::string param_line(const accelab_param_desc& p) {
  std::string def = value_json(p.default_value).dump();
  std::string range;
  if (p.min <= p.max && (p.type == ACCELAB_PARAM_INT || p.type == ACCELAB_PARAM_FLOAT))
    range = fmt::format(", range [{}, {}]", p.min, p.max);
  if (p.choices) range = fmt::format(", one of {}", p.choices);
  return fmt::format("      {:<14} {:<6} default {}{}  {}", p.name, type_name(p.type), def, range,
                     p.doc ? p.doc : "");
}

}  // namespace

int cmd_plugins(const Args& args) {
  CommonOptions common;
  bool json = false;
  po::options_description opts("options");
  opts.add_options()("json", po::bool_switch(&json), "print JSON");
  auto parsed = parse_args(args, "plugins [--json] [-v] [--plugin-path DIR]...",
                           "Lists loaded plugins, their strategies and parameters; -v also lists "
                           "every rejected plugin file and why.",
                           opts, {}, common);
  if (parsed.help) return 0;
  auto registry = load_plugins(common);
  if (json) {
    std::cout << registry_json(*registry).dump(2) << "\n";
    return 0;
  }
  for (const auto& p : registry->plugins()) {
    const accelab_plugin_descriptor& d = *p->descriptor;
    fmt::print("{} {} (ABI {}.{})  {}\n  {}\n", d.name, d.version, d.abi_major, d.abi_minor,
               p->path.string(), d.description ? d.description : "");
    for (const auto& s : p->strategies) {
      const accelab_strategy& t = *s.table;
      fmt::print("    {:<18} {:<9} {}{}\n", t.name, kind_name(t.kind), t.description ? t.description : "",
                 s.available() ? "" : fmt::format(" [unavailable: {}]", s.unavailable_reason));
      for (int32_t i = 0; i < t.n_params; ++i) fmt::print("{}\n", param_line(t.params[i]));
    }
  }
  if (registry->plugins().empty())
    fmt::print("no plugins found in: {}\n", [&] {
      std::string dirs;
      for (const auto& d : PluginRegistry::search_path(common.plugin_paths)) dirs += d.string() + " ";
      return dirs;
    }());
  const auto& rejected = registry->rejections();
  if (common.verbose) {
    if (!rejected.empty()) fmt::print("\nrejected files:\n");
    for (const auto& r : rejected) fmt::print("  {}: {}\n", r.path.string(), r.reason);
  } else if (!rejected.empty()) {
    fmt::print("\n{} candidate file(s) rejected; run 'accelab plugins -v' to see why\n", rejected.size());
  }
  return 0;
}

}  // namespace accelab
