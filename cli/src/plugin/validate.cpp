#include "plugin/validate.hpp"

#include <fmt/format.h>

#include <cstddef>
#include <set>

namespace accelab {
namespace {

// Sizes of the ABI 1.0 layouts: a plugin's struct may be larger (newer minor), never smaller.
constexpr uint32_t kDescriptorSize10 = sizeof(accelab_plugin_descriptor);
constexpr uint32_t kStrategySize10 = sizeof(accelab_strategy);
constexpr uint32_t kBackendSize10 = sizeof(accelab_backend_vtable);
constexpr uint32_t kTransformSize10 = sizeof(accelab_transform_vtable);
constexpr uint32_t kParallelSize10 = sizeof(accelab_parallel_vtable);

std::optional<std::string> validate_param(const accelab_strategy& s, const accelab_param_desc& p) {
  if (p.name == nullptr || !is_kebab_case(p.name))
    return fmt::format("strategy '{}' has a parameter whose name '{}' is not kebab-case", s.name,
                       p.name ? p.name : "(null)");
  if (p.type < ACCELAB_PARAM_BOOL || p.type > ACCELAB_PARAM_STRING)
    return fmt::format("strategy '{}' parameter '{}' has unknown type {}", s.name, p.name,
                       static_cast<int>(p.type));
  if (p.default_value.type != p.type)
    return fmt::format("strategy '{}' parameter '{}': default value has a different type", s.name,
                       p.name);
  bool ranged = p.min <= p.max;
  if (ranged && p.type == ACCELAB_PARAM_INT) {
    auto v = static_cast<double>(p.default_value.i);
    if (v < p.min || v > p.max)
      return fmt::format("strategy '{}' parameter '{}': default {} outside [{}, {}]", s.name,
                         p.name, p.default_value.i, p.min, p.max);
  }
  if (ranged && p.type == ACCELAB_PARAM_FLOAT &&
      (p.default_value.f < p.min || p.default_value.f > p.max))
    return fmt::format("strategy '{}' parameter '{}': default {} outside [{}, {}]", s.name, p.name,
                       p.default_value.f, p.min, p.max);
  return std::nullopt;
}

std::optional<std::string> validate_strategy(const accelab_strategy* s, int32_t index) {
  if (s == nullptr) return fmt::format("strategy #{} is NULL", index);
  if (s->struct_size < kStrategySize10)
    return fmt::format("strategy #{} has struct_size {}, smaller than the ABI 1.0 layout ({} bytes)",
                       index, s->struct_size, kStrategySize10);
  if (s->name == nullptr) return fmt::format("strategy #{} has no name", index);
  if (!is_kebab_case(s->name))
    return fmt::format("strategy name '{}' is not kebab-case (lowercase letters and digits "
                       "joined by single dashes)",
                       s->name);
  if (s->create == nullptr || s->destroy == nullptr)
    return fmt::format("strategy '{}' lacks create or destroy", s->name);
  if (s->n_params < 0 || (s->n_params > 0 && s->params == nullptr))
    return fmt::format("strategy '{}' declares {} parameters but no table", s->name, s->n_params);
  std::set<std::string_view> param_names;
  for (int32_t i = 0; i < s->n_params; ++i) {
    if (auto problem = validate_param(*s, s->params[i])) return problem;
    if (!param_names.insert(s->params[i].name).second)
      return fmt::format("strategy '{}' declares parameter '{}' twice", s->name, s->params[i].name);
  }
  auto need_backend = [&]() -> std::optional<std::string> {
    const accelab_backend_vtable* b = s->backend;
    if (b == nullptr || b->struct_size < kBackendSize10 || b->supports == nullptr ||
        b->prepare == nullptr || b->execute == nullptr)
      return fmt::format("strategy '{}' is a {} without a complete backend table", s->name,
                         s->kind == ACCELAB_STRATEGY_BACKEND ? "backend" : "parallel strategy");
    return std::nullopt;
  };
  switch (s->kind) {
    case ACCELAB_STRATEGY_BACKEND:
      return need_backend();
    case ACCELAB_STRATEGY_TRANSFORM:
      if (s->transform == nullptr || s->transform->struct_size < kTransformSize10 ||
          s->transform->apply == nullptr)
        return fmt::format("strategy '{}' is a transform without a complete transform table",
                           s->name);
      return std::nullopt;
    case ACCELAB_STRATEGY_PARALLEL:
      if (auto problem = need_backend()) return problem;
      if (s->parallel == nullptr || s->parallel->struct_size < kParallelSize10 ||
          s->parallel->set_inner == nullptr)
        return fmt::format("strategy '{}' is a parallel strategy without a parallel table",
                           s->name);
      return std::nullopt;
  }
  return fmt::format("strategy '{}' has unknown kind {}", s->name, static_cast<int>(s->kind));
}

}  // namespace

bool is_kebab_case(std::string_view name) {
  if (name.empty() || name.front() == '-' || name.back() == '-') return false;
  char prev = 0;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok || (c == '-' && prev == '-')) return false;
    prev = c;
  }
  return true;
}

std::optional<std::string> validate_descriptor(const accelab_plugin_descriptor& desc) {
  // The version fields sit at the same offsets in every version, so check them first.
  if (desc.abi_major != ACCELAB_ABI_MAJOR)
    return fmt::format("built for ABI major version {}, but this host speaks major version {} "
                       "(rebuild the plugin against this accelab)",
                       desc.abi_major, ACCELAB_ABI_MAJOR);
  if (desc.abi_minor > ACCELAB_ABI_MINOR)
    return fmt::format("built for ABI minor version {}.{}, newer than this host's {}.{} (upgrade accelab)",
                       desc.abi_major, desc.abi_minor, ACCELAB_ABI_MAJOR, ACCELAB_ABI_MINOR);
  if (desc.struct_size < kDescriptorSize10)
    return fmt::format("descriptor struct_size {} is smaller than the ABI 1.0 layout ({} bytes)",
                       desc.struct_size, kDescriptorSize10);
  if (desc.name == nullptr || desc.version == nullptr)
    return "descriptor lacks a name or version";
  if (desc.n_strategies < 0 || (desc.n_strategies > 0 && desc.strategies == nullptr))
    return fmt::format("descriptor declares {} strategies but no list", desc.n_strategies);
  std::set<std::string_view> names;
  for (int32_t i = 0; i < desc.n_strategies; ++i) {
    if (auto problem = validate_strategy(desc.strategies[i], i)) return problem;
    if (!names.insert(desc.strategies[i]->name).second)
      return fmt::format("strategy '{}' is declared twice", desc.strategies[i]->name);
  }
  return std::nullopt;
}

}  // namespace accelab
